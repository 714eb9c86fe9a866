"""Household batch files: upload, poll, download (every input row comes back, scored or with its reason)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import shutil
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import insert, select, update

from api.deps import CallerDep, ServiceDep
from api.errors import PayloadTooLarge
from api.schemas import PROBLEMS, JobStatus
from creditscore.audit import write_audit
from creditscore.auth import Role
from creditscore.batch import grade_household_file
from creditscore.batch_output import SHEETS, write_result
from creditscore.batch_report import write_report
from creditscore.errors import CreditScoreError, UnknownSubject
from creditscore.store import Store
from creditscore.store.tables import BATCH_JOBS

router = APIRouter(prefix="/v1", tags=["household batches"], responses=PROBLEMS)
log = logging.getLogger("creditscore.api")


class Jobs:
    """Batch jobs: their state in the store (any worker answers a poll), their results in the data folder.

    The file is graded by a thread of the worker that received it. That worker vouches for its jobs — queued
    or running — every :attr:`HEARTBEAT`; a job nobody has vouched for in :attr:`STALLED` belonged to a worker
    that died, and the next poll (or start-up) says so: failed, upload it again. Without this an assessor
    would watch "running" for ever.
    """

    HEARTBEAT = dt.timedelta(seconds=30)
    STALLED = dt.timedelta(minutes=3)
    _STALLED_MESSAGE = "the service stopped while the file was being graded: upload it again"
    _ACTIVE = ("queued", "running")  # a worker should be grading it

    def __init__(self, store: Store, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
        self._mine: set[str] = set()  # this worker's queued and running jobs
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None

    def start(self) -> None:
        """Start vouching for this worker's jobs (the service's lifespan; tests call :meth:`beat` directly)."""
        self._heart = threading.Thread(target=self._beat_until_stopped, name="batch-heartbeat", daemon=True)
        self._heart.start()

    def close(self) -> None:
        self._stop.set()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.HEARTBEAT.total_seconds()):
            try:
                self.beat()
            except Exception as exc:  # the store out of reach for a while: the next beat tries again
                log.warning("batch heartbeat failed: %s", type(exc).__name__)

    def beat(self) -> None:
        """Mark this worker's queued and running jobs as alive."""
        with self._lock:
            mine = list(self._mine)
        if mine:
            with self.store.engine.begin() as conn:
                conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id.in_(mine),
                                                      BATCH_JOBS.c.status.in_(self._ACTIVE))
                             .values(updated_at=dt.datetime.now(dt.UTC)))

    def _fail_stalled(self, conn, now: dt.datetime, *only: str) -> None:
        where = [BATCH_JOBS.c.status.in_(self._ACTIVE), BATCH_JOBS.c.updated_at < now - self.STALLED]
        if only:
            where.append(BATCH_JOBS.c.job_id.in_(only))
        conn.execute(update(BATCH_JOBS).where(*where)
                     .values(status="failed", updated_at=now, message=self._STALLED_MESSAGE))

    def housekeeping(self, retention_days: int) -> None:
        """At start-up: fail jobs no worker vouches for any more; delete results past their retention.

        Results hold graded households: they are not kept for ever.
        """
        now = dt.datetime.now(dt.UTC)
        with self.store.engine.begin() as conn:
            self._fail_stalled(conn, now)
            old = conn.execute(select(BATCH_JOBS.c.job_id)
                               .where(BATCH_JOBS.c.status.in_(["done", "failed"]),
                                      BATCH_JOBS.c.updated_at < now - dt.timedelta(days=retention_days))).scalars()
            expired = list(old)
            if expired:
                conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id.in_(expired))
                             .values(status="expired", updated_at=now,
                                     message=f"results are deleted after {retention_days} days"))
        for job_id in expired:
            for suffix in (".xlsx", ".html"):
                (self.folder / f"{job_id}{suffix}").unlink(missing_ok=True)

    def _update(self, job_id: str, **values: object) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id == job_id)
                         .values(**values, updated_at=dt.datetime.now(dt.UTC)))

    def get(self, job_id: str) -> dict[str, object] | None:
        job = self._read(job_id)
        now = dt.datetime.now(dt.UTC)
        if job is not None and job["status"] in self._ACTIVE and job["updated_at"] < now - self.STALLED:
            with self.store.engine.begin() as conn:  # its worker died: say so now, not at the next start-up
                self._fail_stalled(conn, now, job_id)
            job = self._read(job_id)
        return job

    def _read(self, job_id: str) -> dict[str, object] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(BATCH_JOBS).where(BATCH_JOBS.c.job_id == job_id)).mappings().first()
        if row is None:
            return None
        job = dict(row)
        for k in ("created_at", "updated_at"):  # SQLite hands back naive datetimes: they were written in UTC
            if job[k].tzinfo is None:
                job[k] = job[k].replace(tzinfo=dt.UTC)
        return job

    def submit(self, service, path: Path, as_of: dt.date | None, *, owner: str, filename: str) -> str:
        job_id = uuid.uuid4().hex
        now = dt.datetime.now(dt.UTC)
        try:
            with self.store.engine.begin() as conn:
                conn.execute(insert(BATCH_JOBS).values(job_id=job_id, owner=owner, filename=filename[:255],
                                                       status="queued", processed=0, scored=0, rejected=0,
                                                       created_at=now, updated_at=now))
        except BaseException:  # the store out of reach, say: the upload (households' data) is not left behind
            path.unlink(missing_ok=True)
            raise
        with self._lock:
            self._mine.add(job_id)
        self.executor.submit(self._run, job_id, service, path, as_of, filename)
        return job_id

    def _run(self, job_id: str, service, path: Path, as_of: dt.date | None, filename: str) -> None:
        self._update(job_id, status="running")

        def progress(done: int, total: int | None) -> None:
            self._update(job_id, processed=done, rows=total)

        try:
            result = grade_household_file(service, path, as_of=as_of, progress=progress)
            write_result(result, self.folder / f"{job_id}.xlsx", source=filename)
            write_report(result, service.catalogues["household"], self.folder / f"{job_id}.html", source=filename)
            self._update(job_id, status="done", rows=result.rows, processed=result.rows,
                         scored=result.scored_rows, rejected=result.rejected_rows)
        except CreditScoreError as exc:
            self._update(job_id, status="failed", message=str(exc))
        except Exception:
            self._update(job_id, status="failed", message="unexpected error while scoring the file")
        finally:
            path.unlink(missing_ok=True)
            with self._lock:
                self._mine.discard(job_id)


_PUBLIC = ("job_id", "status", "rows", "processed", "scored", "rejected", "message", "created_at")


def _status(request: Request, job: dict[str, object]) -> JobStatus:
    done = job["status"] == "done"
    url = str(request.url_for("job_result", job_id=job["job_id"])) if done else None
    report = str(request.url_for("job_report", job_id=job["job_id"])) if done else None
    return JobStatus(**{k: job[k] for k in _PUBLIC}, result_url=url, report_url=report)


@router.post("/households/batch", response_model=JobStatus, status_code=202, summary="Upload a household file")
def submit_batch(
    request: Request, service: ServiceDep, caller: CallerDep,
    file: Annotated[UploadFile, File(description="CSV, XLSX or Parquet; Chinese or English headers")],
    purpose: Annotated[str, Form(min_length=2, max_length=200)],
    authorization_ref: Annotated[str, Form(min_length=4, max_length=200,
                                           description="reference of the households' authorisations")],
    as_of: Annotated[dt.date | None, Form()] = None,
) -> JobStatus:
    """Queue the file; poll the job; download the workbook: households, villages, townships, errors, summary.

    The same capability as ``creditscore households score``: every row comes back graded or
    in the errors sheet with its row number, column and the reason in Chinese.
    """
    caller.require(Role.ASSESSOR, Role.BANK)
    suffix = Path(file.filename or "upload.csv").suffix.lower() or ".csv"
    limit = service.settings.max_upload_bytes
    with tempfile.NamedTemporaryFile(delete=False, suffix=suffix) as tmp:
        shutil.copyfileobj(file.file, tmp, length=1 << 20)
        size = tmp.tell()
    if size > limit:
        Path(tmp.name).unlink(missing_ok=True)
        raise PayloadTooLarge(f"the file has {size:,} bytes; the limit is {limit:,}")
    jobs: Jobs = request.app.state.jobs
    job_id = jobs.submit(service, Path(tmp.name), as_of, owner=caller.key_prefix,
                         filename=Path(file.filename or "upload").name)
    write_audit(service.store, caller=caller, request_id=request.state.request_id, route="household_batch",
                status=202, subject_type="household", purpose=purpose, authorization_ref=authorization_ref)
    return _status(request, jobs.get(job_id))


def _job(request: Request, job_id: str, caller_prefix: str, admin: bool) -> dict[str, object]:
    job = request.app.state.jobs.get(job_id)
    if job is None or (job["owner"] != caller_prefix and not admin):
        raise UnknownSubject(f"no batch job {job_id} for this key")
    return job


@router.get("/jobs/{job_id}", response_model=JobStatus, summary="Progress of a batch job")
def job_status(request: Request, job_id: str, caller: CallerDep) -> JobStatus:
    caller.require(Role.ASSESSOR, Role.BANK)
    return _status(request, _job(request, job_id, caller.key_prefix, caller.role is Role.ADMIN))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/jobs/{job_id}/result", name="job_result", summary="Download a finished batch's workbook",
            response_class=Response,
            responses={200: {"description": "sheets: " + ", ".join(SHEETS.values()),
                             "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def job_result(request: Request, job_id: str, caller: CallerDep) -> Response:
    caller.require(Role.ASSESSOR, Role.BANK)
    job = _job(request, job_id, caller.key_prefix, caller.role is Role.ADMIN)
    if job["status"] != "done":
        raise UnknownSubject(f"job {job_id} is {job['status']}: {job['message'] or 'no result yet'}")
    data = (request.app.state.jobs.folder / f"{job_id}.xlsx").read_bytes()
    return Response(io.BytesIO(data).getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=grades-{job_id[:8]}.xlsx"})


@router.get("/jobs/{job_id}/report", name="job_report", summary="The printable HTML report of a finished batch",
            response_class=HTMLResponse,
            responses={200: {"description": "grades, villages, townships, reasons and errors, with charts",
                             "content": {"text/html": {"schema": {"type": "string"}}}}})
def job_report(request: Request, job_id: str, caller: CallerDep) -> HTMLResponse:
    caller.require(Role.ASSESSOR, Role.BANK)
    job = _job(request, job_id, caller.key_prefix, caller.role is Role.ADMIN)
    if job["status"] != "done":
        raise UnknownSubject(f"job {job_id} is {job['status']}: {job['message'] or 'no report yet'}")
    return HTMLResponse((request.app.state.jobs.folder / f"{job_id}.html").read_text(encoding="utf-8"))
