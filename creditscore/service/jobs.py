"""Household batches as a library concern: one function runs a batch for every door; jobs keep its state.

:func:`run_household_batch` is what ``creditscore households score`` and the service's upload both do: grade the
file, write the workbook (or CSV / Parquet) and the printable report, and append the audit line — at one moment,
when the households' data has been read and graded, with the outcome's status. The HTTP router only receives
the file and answers polls; :class:`Jobs` holds the state machine (queued → running → done | failed | expired)
in the store, so that any worker answers any poll, with a heartbeat so that a job whose worker died is said to
have failed rather than shown running for ever.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import insert, select, update

from creditscore.decisions.scorer import Scorer
from creditscore.errors import CreditScoreError, InvalidValue, TooLarge, UnknownSubject
from creditscore.records.ids import mask_ids_in_text
from creditscore.records.messages_zh import reason_zh
from creditscore.records.readers import Limits
from creditscore.records.subjects import Segment
from creditscore.records.vocabulary import parse_mapping
from creditscore.rural.batch import BatchResult, Progress, RosterOptions, grade_household_file
from creditscore.rural.report import write_report
from creditscore.rural.workbook import FORMATS, write_result
from creditscore.service.audit import write_audit
from creditscore.service.keys import Caller
from creditscore.service.models import ModelSet
from creditscore.store import Store
from creditscore.store.tables import BATCH_JOBS

__all__ = ["ACTIVE", "BatchOutcome", "BatchQuery", "Jobs", "RosterOptions", "parse_mapping", "run_household_batch"]

log = logging.getLogger("creditscore.jobs")

#: A job in these states should be being graded by some worker.
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class BatchQuery:
    """Who asks for a batch of households' grades, and on what grounds: what the audit line records."""

    caller: Caller
    purpose: str
    authorization_ref: str
    route: str
    request_id: str = ""


@dataclass
class BatchOutcome:
    result: BatchResult
    written: list[Path]
    report: Path | None


def run_household_batch(store: Store, scorer: Scorer, path: str | Path, query: BatchQuery, *, out: str | Path,
                        report: str | Path | None = None, source: str = "", as_of: dt.date | None = None,
                        header_row: int | None = None, chunk_rows: int = 50_000, sheets: list[str] | None = None,
                        progress: Progress | None = None, max_rows: int | None = None,
                        options: RosterOptions | None = None) -> BatchOutcome:
    """Grade a household file, write its results and report, and log the query — for every door alike.

    ``out`` by its suffix (.xlsx, .csv, .parquet); ``report`` the HTML report (None: none). The audit line is
    written once the file has been graded, with status 200, or with the status of the failure (422 for a file
    that cannot be read or lacks a needed column, 500 otherwise) — a query of households' data is logged whether
    or not it succeeded.
    """
    if scorer.segment is not Segment.HOUSEHOLD:
        raise InvalidValue("a household batch needs the household scorer")
    if Path(out).suffix.lower() not in FORMATS:  # said before the file is graded, not after
        raise InvalidValue(f"{Path(out).name}: output must end in one of {', '.join(FORMATS)}")
    status = 500
    try:
        limits = Limits(max_rows=max_rows) if max_rows else None  # None: the settings' limit
        result = grade_household_file(store, scorer, path, as_of=as_of, header_row=header_row, chunk_rows=chunk_rows,
                                      progress=progress, sheets=sheets, limits=limits, options=options)
        status = 200
    except CreditScoreError:
        status = 422
        raise
    finally:
        write_audit(store, caller=query.caller, request_id=query.request_id or uuid.uuid4().hex, route=query.route,
                    status=status, subject_type=Segment.HOUSEHOLD.subject_type.value, purpose=query.purpose,
                    authorization_ref=query.authorization_ref)
    source = mask_ids_in_text(source)  # a file named after a person must not name them in the workbook
    written = write_result(result, out, source=source)
    page = write_report(result, scorer.catalogue, report, source=source) if report is not None else None
    return BatchOutcome(result, written, page)


def _receive(stream: BinaryIO, path: Path, max_bytes: int) -> None:
    """Write an upload to ``path``, counting as it arrives: past ``max_bytes`` it is refused and nothing is left."""
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"文件超过{max_bytes:,}字节上限 — the file has more than {max_bytes:,} bytes, "
                                   "the upload limit: split it")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _suffix(filename: str) -> str:
    """The upload's type as its name says, safe to put in a path: a name is the sender's to choose (a NUL, a slash,
    500 characters); anything but a short alphanumeric suffix becomes ``.bin``, which the reader refuses by name."""
    suffix = Path(filename.replace("\x00", "")).suffix.lower() or ".csv"
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process of that number: alive
        return True
    return True


class Jobs:
    """Batch jobs: their state in the store (any worker answers a poll), their results in the data folder.

    The file is graded by a thread of the worker that received it. That worker vouches for its jobs — queued
    or running — every :attr:`HEARTBEAT`; a job nobody has vouched for in :attr:`STALLED` belonged to a worker
    that died, and the next poll (or start-up) says so: failed, upload it again. Without this an assessor
    would watch "running" for ever.
    """

    HEARTBEAT = dt.timedelta(seconds=30)
    STAGED_FOR = dt.timedelta(days=1)
    STALLED = dt.timedelta(minutes=3)
    _STALLED_MESSAGE = ("评级过程中服务已停止，请重新上传 — the service stopped while the file was being graded: "
                        "upload it again")

    def __init__(self, store: Store, models: ModelSet, folder: Path) -> None:
        self.store = store
        self.models = models
        self.folder = folder
        self.uploads = folder / "uploads"  # households' files while they wait or are graded; never /tmp
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.staged = folder / "staged"  # files uploaded from the web pages, waiting for their columns confirmed
        self.staged.mkdir(parents=True, exist_ok=True)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
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
                conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id.in_(mine), BATCH_JOBS.c.status.in_(ACTIVE))
                             .values(updated_at=dt.datetime.now(dt.UTC)))

    def _fail_stalled(self, conn, now: dt.datetime, *only: str) -> None:
        where = [BATCH_JOBS.c.status.in_(ACTIVE), BATCH_JOBS.c.updated_at < now - self.STALLED]
        if only:
            where.append(BATCH_JOBS.c.job_id.in_(only))
        conn.execute(update(BATCH_JOBS).where(*where)
                     .values(status="failed", updated_at=now, message=self._STALLED_MESSAGE))

    def _dead_workers(self, conn) -> list[str]:
        """Active jobs whose worker, on this host, is no longer running: failed at once, not in 3 minutes."""
        host = socket.gethostname()
        rows = conn.execute(select(BATCH_JOBS.c.job_id, BATCH_JOBS.c.worker)
                            .where(BATCH_JOBS.c.status.in_(ACTIVE))).all()
        dead = []
        for job_id, worker in rows:
            where, _, pid = (worker or "").rpartition(":")
            if where == host and pid.isdigit() and not _alive(int(pid)):
                dead.append(job_id)
        if dead:
            conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id.in_(dead))
                         .values(status="failed", updated_at=dt.datetime.now(dt.UTC), message=self._STALLED_MESSAGE))
        return dead

    def housekeeping(self, retention_days: int) -> None:
        """At start-up: fail jobs no worker vouches for any more; delete results past their retention.

        Results hold graded households: they are not kept for ever.
        """
        now = dt.datetime.now(dt.UTC)
        with self.store.engine.begin() as conn:
            self._fail_stalled(conn, now)
            self._dead_workers(conn)
            waiting = set(conn.execute(select(BATCH_JOBS.c.job_id).where(BATCH_JOBS.c.status.in_(ACTIVE))).scalars())
            old = conn.execute(select(BATCH_JOBS.c.job_id)
                               .where(BATCH_JOBS.c.status.in_(["done", "failed"]),
                                      BATCH_JOBS.c.updated_at < now - dt.timedelta(days=retention_days))).scalars()
            expired = list(old)
            if expired:
                conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id.in_(expired))
                             .values(status="expired", updated_at=now,
                                     message=f"results are deleted after {retention_days} days"))
        for job_id in expired:
            for path in self.outputs(job_id):
                path.unlink(missing_ok=True)
        for upload in self.uploads.iterdir():  # a file whose job ended or never was: the households' data goes
            if upload.stem not in waiting:
                upload.unlink(missing_ok=True)
        for staged in self.staged.iterdir():  # uploaded but never confirmed: gone after a day
            if staged.stat().st_mtime < (now - self.STAGED_FOR).timestamp():
                staged.unlink(missing_ok=True)

    def outputs(self, job_id: str) -> tuple[Path, Path]:
        """Where a job's workbook and report are kept."""
        return self.folder / f"{job_id}.xlsx", self.folder / f"{job_id}.html"

    def _update(self, job_id: str, **values: object) -> None:
        if values.get("message") is not None:  # a message may quote a cell of the file: never a full ID
            values["message"] = mask_ids_in_text(str(values["message"]))
        with self.store.engine.begin() as conn:
            conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id == job_id)
                         .values(**values, updated_at=dt.datetime.now(dt.UTC)))

    def get(self, job_id: str) -> dict[str, object] | None:
        job = self._read(job_id)
        now = dt.datetime.now(dt.UTC)
        if job is not None and job["status"] in ACTIVE:
            with self.store.engine.begin() as conn:  # its worker died: say so now, not at the next start-up
                if job["updated_at"] < now - self.STALLED:
                    self._fail_stalled(conn, now, job_id)
                elif job_id in self._dead_workers(conn):
                    self._forget_upload(job_id)
            job = self._read(job_id)
        return job

    def _forget_upload(self, job_id: str) -> None:
        for upload in self.uploads.glob(f"{job_id}.*"):
            upload.unlink(missing_ok=True)

    def accept(self, stream: BinaryIO, query: BatchQuery, *, filename: str, max_bytes: int,
               as_of: dt.date | None = None, options: RosterOptions | None = None) -> str:
        """Receive an uploaded file into the uploads folder (at most ``max_bytes``, counted as it arrives) and
        queue it. A file past the limit is refused before more of it is written."""
        job_id = uuid.uuid4().hex
        path = self.uploads / f"{job_id}{_suffix(filename)}"
        _receive(stream, path, max_bytes)
        return self.submit(path, query, filename=filename, as_of=as_of, job_id=job_id, options=options)

    def stage(self, stream: BinaryIO, *, owner: str, filename: str, max_bytes: int) -> str:
        """Keep an uploaded file until its owner confirms how its columns are read (the web pages' first step);
        returns the stage id. The same size limit as :meth:`accept`, counted as the file arrives."""
        stage_id = uuid.uuid4().hex
        suffix = _suffix(filename)
        path = self.staged / f"{stage_id}{suffix}"
        _receive(stream, path, max_bytes)
        try:
            (self.staged / f"{stage_id}.owner").write_text(
                json.dumps({"owner": owner, "filename": mask_ids_in_text(filename)[:255], "suffix": suffix}),
                encoding="utf-8")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return stage_id

    def staged_file(self, stage_id: str, owner: str) -> tuple[Path, str]:
        """(path, file name) of a staged upload of ``owner``; raises UnknownSubject for anyone else's."""
        meta = self.staged / f"{stage_id}.owner"
        if not re.fullmatch(r"[0-9a-f]{32}", stage_id) or not meta.is_file():
            raise UnknownSubject("没有这个上传文件（可能已超过一天）— no such upload (staged files are kept a day)")
        info = json.loads(meta.read_text(encoding="utf-8"))
        if info["owner"] != owner:
            raise UnknownSubject("没有这个上传文件 — no such upload")
        return self.staged / f"{stage_id}{info['suffix']}", info["filename"]

    def submit_staged(self, stage_id: str, query: BatchQuery, *, as_of: dt.date | None = None,
                      options: RosterOptions | None = None) -> str:
        """Queue a staged upload of the query's caller, with the columns as confirmed."""
        path, filename = self.staged_file(stage_id, query.caller.key_prefix)
        job_id = uuid.uuid4().hex
        target = self.uploads / f"{job_id}{path.suffix}"
        path.replace(target)
        (self.staged / f"{stage_id}.owner").unlink(missing_ok=True)
        return self.submit(target, query, filename=filename, as_of=as_of, job_id=job_id, options=options)

    def list_for(self, owner: str | None, limit: int = 50) -> list[dict[str, object]]:
        """The latest jobs of ``owner`` (all owners' for None: an admin), newest first."""
        query = select(BATCH_JOBS).order_by(BATCH_JOBS.c.created_at.desc()).limit(limit)
        if owner is not None:
            query = query.where(BATCH_JOBS.c.owner == owner)
        with self.store.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for job in rows:
            for k in ("created_at", "updated_at"):
                if job[k].tzinfo is None:
                    job[k] = job[k].replace(tzinfo=dt.UTC)
        return rows

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

    def submit(self, path: Path, query: BatchQuery, *, filename: str, as_of: dt.date | None = None,
               job_id: str | None = None, options: RosterOptions | None = None) -> str:
        """Queue a file for grading; the upload is deleted once graded (or if the job cannot be recorded)."""
        job_id = job_id or uuid.uuid4().hex
        now = dt.datetime.now(dt.UTC)
        try:
            with self.store.engine.begin() as conn:
                conn.execute(insert(BATCH_JOBS).values(job_id=job_id, owner=query.caller.key_prefix,
                                                       filename=mask_ids_in_text(filename)[:255], status="queued",
                                                       processed=0, scored=0, rejected=0, created_at=now,
                                                       updated_at=now, worker=self.worker))
        except BaseException:  # the store out of reach, say: the upload (households' data) is not left behind
            path.unlink(missing_ok=True)
            raise
        with self._lock:
            self._mine.add(job_id)
        self.executor.submit(self._run, job_id, path, query, filename, as_of, options=options)
        return job_id

    def _run(self, job_id: str, path: Path, query: BatchQuery, filename: str, as_of: dt.date | None, *,
             options: RosterOptions | None = None) -> None:
        self._update(job_id, status="running")
        progress: Callable[[int, int | None], None] = lambda done, total: self._update(  # noqa: E731
            job_id, processed=done, rows=total)
        workbook, page = self.outputs(job_id)
        try:
            outcome = run_household_batch(self.store, self.models.scorer(Segment.HOUSEHOLD), path, query,
                                          out=workbook, report=page, source=filename, as_of=as_of,
                                          progress=progress, options=options)
            result = outcome.result
            self._update(job_id, status="done", rows=result.rows, processed=result.rows,
                         scored=result.scored_rows, rejected=result.rejected_rows)
        except CreditScoreError as exc:  # named by the user's file, never the upload's own name
            said = str(exc).replace(path.name, filename).replace(str(path), filename)
            self._update(job_id, status="failed", message=f"“{filename}”无法评级：{reason_zh(said)} — {said}")
        except Exception as exc:  # the type only: a traceback's locals and messages may hold households' data
            log.error("batch job %s failed: %s", job_id, type(exc).__name__)
            self._update(job_id, status="failed", message=f"“{filename}”评级时发生意外错误，请联系管理员 — "
                                                          f"unexpected error while grading the file (job {job_id})")
        finally:
            path.unlink(missing_ok=True)
            with self._lock:
                self._mine.discard(job_id)
