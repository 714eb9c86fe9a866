"""Credit reports (信用报告): a firm's or a household's, as PDF or HTML; and whether a presented one is genuine."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import AuthenticatedRoute, CallerDep, ServiceDep
from api.routers.grades import _required_authorisation, _required_purpose
from api.schemas import PROBLEMS
from creditscore.errors import TooLarge
from creditscore.records.subjects import Segment
from creditscore.service.keys import Role
from creditscore.service.reports import issue, verify_document

router = APIRouter(prefix="/v1", tags=["credit reports"], responses=PROBLEMS, route_class=AuthenticatedRoute)
#: Verification is public: whoever is shown a report (a tender office, a supplier, the subject) may check it.
#: It says only whether the document is genuine and its as-of date — never whom it is about.
public = APIRouter(prefix="/v1", tags=["credit reports"], responses=PROBLEMS)
_MEDIA = {"pdf": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
          "html": {"text/html": {"schema": {"type": "string"}}}}
#: A report is at most a few MB: a presented document larger than this is not one of ours.
MAX_PRESENTED = 20_000_000


class VerifyResponse(BaseModel):
    number: str
    genuine: bool
    reason: str
    as_of: str | None = None


def _document(issued: object) -> Response:
    return Response(issued.document, media_type=issued.media_type, headers={
        "Content-Disposition": f"attachment; filename={issued.filename}", "X-Report-Number": issued.report.number,
        "X-Report-Content-Hash": issued.report.content_hash, "Cache-Control": "no-store"})


@router.get("/enterprises/{uscc}/report", summary="A firm's credit report (PDF or HTML)", response_class=Response,
            responses={200: {"content": {**_MEDIA["pdf"], **_MEDIA["html"]}}})
async def enterprise_report(
    request: Request, service: ServiceDep, caller: CallerDep,
    uscc: Annotated[str, Path(description="unified social credit code (统一社会信用代码)")],
    purpose: Annotated[str | None, Query(max_length=200, description="why you query — required")] = None,
    format: Annotated[Literal["pdf", "html"], Query(description="pdf (default) or html")] = "pdf",
    as_of: Annotated[dt.date | None, Query(description="as-of date; default today")] = None,
) -> Response:
    """Every section of the report — records with their status and the date each stops counting, objections,
    queries, and how to reach a better grade. Audited like a grade; its number and content hash come in the
    ``X-Report-Number`` and ``X-Report-Content-Hash`` headers."""
    caller.require(Role.BANK)
    purpose = _required_purpose(purpose)
    issued = await run_in_threadpool(issue, service, uscc, fmt=format, caller=caller,
                                     request_id=request.state.request_id, route="enterprise_report",
                                     purpose=purpose, as_of=as_of, expected=Segment.SME)
    return _document(issued)


@router.get("/households/{resident_id}/report", summary="A household's credit report (PDF or HTML)",
            response_class=Response, responses={200: {"content": {**_MEDIA["pdf"], **_MEDIA["html"]}}})
async def household_report(
    request: Request, service: ServiceDep, caller: CallerDep,
    resident_id: Annotated[str, Path(description="resident ID of the head of household")],
    purpose: Annotated[str | None, Query(max_length=200)] = None,
    authorization_ref: Annotated[str | None, Query(max_length=200, description="the person's written "
                                                                               "authorisation — required")] = None,
    format: Annotated[Literal["pdf", "html"], Query()] = "pdf",
    as_of: Annotated[dt.date | None, Query()] = None,
) -> Response:
    """A person's report needs their authorisation and a purpose, as their grade does; the ID is masked in it."""
    caller.require(Role.BANK, Role.ASSESSOR)
    purpose = _required_purpose(purpose)
    authorization_ref = _required_authorisation(authorization_ref)
    issued = await run_in_threadpool(issue, service, resident_id, fmt=format, caller=caller,
                                     request_id=request.state.request_id, route="household_report",
                                     purpose=purpose, authorization_ref=authorization_ref, as_of=as_of,
                                     expected=Segment.HOUSEHOLD)
    return _document(issued)


def _answer(result: object) -> VerifyResponse:
    return VerifyResponse(number=result.number, genuine=result.genuine, reason=result.reason,
                          as_of=result.as_of if result.genuine else None)


@public.get("/reports/{number}/verify", response_model=VerifyResponse, summary="Is a report genuine?")
def verify_by_hash(number: Annotated[str, Path(max_length=40)], service: ServiceDep,
                   content_hash: Annotated[str, Query(min_length=64, max_length=64,
                                                      description="the content hash printed on the report")]
                   ) -> VerifyResponse:
    """Whether a report with this number was issued here with this content hash."""
    return _answer(verify_document(service.store, number, content_hash=content_hash))


@public.post("/reports/{number}/verify", response_model=VerifyResponse, summary="Is this document genuine?")
def verify_file(number: Annotated[str, Path(max_length=40)], service: ServiceDep,
                file: Annotated[UploadFile, File(description="the report as presented (PDF or HTML)")]
                ) -> VerifyResponse:
    """Whether the presented document is, byte for byte, the report issued under this number: one changed
    character and it is not."""
    data = file.file.read(MAX_PRESENTED + 1)
    if len(data) > MAX_PRESENTED:
        raise TooLarge(f"a report is smaller than {MAX_PRESENTED:,} bytes: this file is not one")
    return _answer(verify_document(service.store, number, data))
