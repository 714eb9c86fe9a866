"""Household batch files: upload, poll, download (every input row comes back, scored or with its reason)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from api.deps import AuthenticatedRoute, CallerDep, ServiceDep
from api.schemas import PROBLEMS, JobStatus
from creditscore.errors import NotReady, UnknownSubject
from creditscore.rural.workbook import SHEETS
from creditscore.service.jobs import BatchQuery, Jobs, RosterOptions, parse_mapping
from creditscore.service.keys import Role

router = APIRouter(prefix="/v1", tags=["household batches"], responses=PROBLEMS,
                   route_class=AuthenticatedRoute)


_PUBLIC = ("job_id", "status", "rows", "processed", "scored", "rejected", "message", "created_at")


def _status(request: Request, job: dict[str, object]) -> JobStatus:
    done = job["status"] == "done"
    url = str(request.url_for("job_result", job_id=job["job_id"])) if done else None
    report = str(request.url_for("job_report", job_id=job["job_id"])) if done else None
    return JobStatus(**{k: job[k] for k in _PUBLIC}, result_url=url, report_url=report)


_JOB_LINKS = {name: {"operationId": op, "parameters": {"job_id": "$response.body#/job_id"}}
              for name, op in (("status", "job_status"), ("result", "job_result"), ("report", "job_report"))}


@router.post("/households/batch", response_model=JobStatus, status_code=202, summary="Upload a household file",
             responses={202: {"description": "queued", "links": _JOB_LINKS}})
def submit_batch(
    request: Request, service: ServiceDep, caller: CallerDep,
    file: Annotated[UploadFile, File(description="CSV, XLSX or Parquet; Chinese or English headers")],
    purpose: Annotated[str, Form(min_length=2, max_length=200)],
    authorization_ref: Annotated[str, Form(min_length=4, max_length=200,
                                           description="reference of the households' authorisations")],
    as_of: Annotated[dt.date | None, Form()] = None,
    columns: Annotated[str | None, Form(max_length=20_000, description=(
        "a column mapping for a layout no rule recognises, in the format the summary prints "
        "('columns:' then 'header: field' lines)"))] = None,
    village_code: Annotated[str | None, Form(max_length=20, description=(
        "the 12-digit code of the village every row belongs to (when the file gives none)"))] = None,
    township: Annotated[str | None, Form(max_length=40, description=(
        "the township the file's villages are in, to find villages by name"))] = None,
) -> JobStatus:
    """Queue the file; poll the job; download the workbook: households, villages, townships, errors, summary.

    The same capability as ``creditscore households score``: every row comes back graded or
    in the errors sheet with its row number, column and the reason in Chinese.
    """
    caller.require(Role.ASSESSOR, Role.BANK)
    jobs: Jobs = request.app.state.jobs
    query = BatchQuery(caller, purpose.strip(), authorization_ref.strip(), "household_batch", request.state.request_id)
    options = RosterOptions(columns=parse_mapping(columns) if columns else None, village_code=village_code,
                            township=township)
    job_id = jobs.accept(file.file, query, filename=Path(file.filename or "upload.csv").name,
                         max_bytes=service.settings.max_upload_bytes, as_of=as_of, options=options)
    return _status(request, jobs.get(job_id))


def _job(request: Request, job_id: str, caller_prefix: str, admin: bool) -> dict[str, object]:
    job = request.app.state.jobs.get(job_id)
    if job is None or (job["owner"] != caller_prefix and not admin):
        raise UnknownSubject(f"no batch job {job_id} for this key")
    return job


def _ready(job: dict[str, object]) -> None:
    """A result exists only for a done job: otherwise say why (409), not "unknown" (404)."""
    if job["status"] == "done":
        return
    if job["status"] in ("queued", "running"):
        raise NotReady(f"仍在评级中，请稍后再取 — job {job['job_id']} is {job['status']}: poll it until it is done")
    raise NotReady(f"job {job['job_id']} is {job['status']}: {job['message'] or 'no result'}")


@router.get("/jobs/{job_id}", response_model=JobStatus, summary="Progress of a batch job", operation_id="job_status")
def job_status(request: Request, job_id: str, caller: CallerDep) -> JobStatus:
    caller.require(Role.ASSESSOR, Role.BANK)
    return _status(request, _job(request, job_id, caller.key_prefix, caller.role is Role.ADMIN))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/jobs/{job_id}/result", name="job_result", operation_id="job_result",
            summary="Download a finished batch's workbook",
            response_class=Response,
            responses={200: {"description": "sheets: " + ", ".join(SHEETS.values()),
                             "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def job_result(request: Request, job_id: str, caller: CallerDep) -> Response:
    caller.require(Role.ASSESSOR, Role.BANK)
    job = _job(request, job_id, caller.key_prefix, caller.role is Role.ADMIN)
    _ready(job)
    data = request.app.state.jobs.outputs(job_id)[0].read_bytes()
    return Response(io.BytesIO(data).getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=grades-{job_id[:8]}.xlsx"})


@router.get("/jobs/{job_id}/report", name="job_report", operation_id="job_report",
            summary="The printable HTML report of a finished batch",
            response_class=HTMLResponse,
            responses={200: {"description": "grades, villages, townships, reasons and errors, with charts",
                             "content": {"text/html": {"schema": {"type": "string"}}}}})
def job_report(request: Request, job_id: str, caller: CallerDep) -> HTMLResponse:
    caller.require(Role.ASSESSOR, Role.BANK)
    job = _job(request, job_id, caller.key_prefix, caller.role is Role.ADMIN)
    _ready(job)
    return HTMLResponse(request.app.state.jobs.outputs(job_id)[1].read_text(encoding="utf-8"))
