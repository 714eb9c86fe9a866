"""Grades for banks and assessors: by identifier from the store, or from records sent inline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.batching import Pending
from api.deps import AuthenticatedRoute, CallerDep, ServiceDep
from api.schemas import PROBLEMS, GradeResponse, InlineGradeRequest, InlineHouseholdRequest
from creditscore.decisions.record import DecisionRecord
from creditscore.errors import CreditScoreError, UnknownSubject
from creditscore.records.subjects import Segment
from creditscore.service.audit import write_audit
from creditscore.service.grading import GradeQuery, GradingService
from creditscore.service.keys import Caller, NotPermitted, Role

router = APIRouter(prefix="/v1", tags=["grades"], responses=PROBLEMS,
                   route_class=AuthenticatedRoute)


def _required_purpose(purpose: str | None) -> str:
    if not purpose or len(purpose.strip()) < 2:
        raise NotPermitted("a query needs its purpose: send purpose (e.g. loan_application)")
    return purpose.strip()


def _required_authorisation(reference: str | None) -> str:
    if not reference or len(reference.strip()) < 4:
        raise NotPermitted("querying a person needs their written authorisation: send authorization_ref, the "
                           "reference of the signed consent (征信业管理条例 art. 18)")
    return reference.strip()


def _response(request: Request, service: GradingService, record: DecisionRecord) -> Response:
    body = GradeResponse.from_record(record, request_id=request.state.request_id, policy=service.policy)
    return Response(body.model_dump_json(), media_type="application/json")


def _audited(request: Request, service: GradingService, caller: Caller, *, route: str, subject: str | None,
             segment: Segment, purpose: str, authorization_ref: str | None,
             grade: Callable[[], DecisionRecord]) -> Response:
    """Run ``grade()`` and write the audit line whatever happens (the query itself is what is logged).

    The response is serialised here, from the validated model: returned as a ``Response``, FastAPI does
    not validate it a second time in another trip through the thread pool (``response_model`` still
    documents it).
    """
    status, record = 200, None
    try:
        record = grade()
        return _response(request, service, record)
    except CreditScoreError as exc:
        status = 404 if isinstance(exc, UnknownSubject) else 422
        raise
    finally:
        write_audit(service.store, caller=caller, request_id=request.state.request_id, route=route, status=status,
                    subject_id=subject, subject_type=segment.subject_type.value, purpose=purpose,
                    authorization_ref=authorization_ref, decision=record)


@router.get("/enterprises/{uscc}/grade", response_model=GradeResponse, summary="Grade a firm from the store")
async def enterprise_grade(
    request: Request, caller: CallerDep,
    uscc: Annotated[str, Path(description="unified social credit code (统一社会信用代码)",
                              examples=["91350100M000100Y43"])],
    purpose: Annotated[str | None, Query(max_length=200, examples=["loan_application"],
                                         description="why you query (agreed purpose) — required")] = None,
    as_of: Annotated[dt.date | None, Query(description="as-of date; default today")] = None,
) -> Response:
    """PD, grade, reasons and 信易贷 terms of a firm, from the credit information store, as of a date."""
    caller.require(Role.BANK)
    purpose = _required_purpose(purpose)
    return await request.app.state.grader.grade(Pending(
        GradeQuery(uscc, as_of, Segment.SME), caller, request.state.request_id, "enterprise_grade", purpose))


@router.post("/enterprises/grade", response_model=GradeResponse, summary="Grade a firm from records you send")
def enterprise_grade_inline(request: Request, body: InlineGradeRequest, service: ServiceDep,
                            caller: CallerDep) -> Response:
    """For a bank with its own data: the same grade, computed from the records in the request."""
    caller.require(Role.BANK)
    purpose = _required_purpose(body.purpose)
    first = (body.records.get("enterprises") or [{}])[0]
    subject = str(first.get("uscc") or first.get("统一社会信用代码") or "") or None
    return _audited(request, service, caller, route="enterprise_grade_inline", subject=subject, segment=Segment.SME,
                    purpose=purpose, authorization_ref=None,
                    grade=lambda: service.grade_inline(Segment.SME, body.records, as_of=body.as_of))


@router.get("/households/{resident_id}/grade", response_model=GradeResponse,
            summary="Grade a rural household from the store")
async def household_grade(
    request: Request, caller: CallerDep,
    resident_id: Annotated[str, Path(description="resident ID of the head of household (户主身份证号)",
                                     examples=["11010519491231002X"])],
    purpose: Annotated[str | None, Query(max_length=200, examples=["loan_application"],
                                         description="why you query (agreed purpose) — required")] = None,
    authorization_ref: Annotated[str | None, Query(max_length=200, examples=["AUTH-2024-000123"],
                                                   description="the person's written authorisation (授权书编号) — "
                                                               "required")] = None,
    as_of: Annotated[dt.date | None, Query()] = None,
) -> Response:
    """Querying a person needs their authorisation and a purpose (征信业管理条例 art. 18); both are audited."""
    caller.require(Role.BANK, Role.ASSESSOR)
    purpose = _required_purpose(purpose)
    authorization_ref = _required_authorisation(authorization_ref)
    return await request.app.state.grader.grade(Pending(
        GradeQuery(resident_id, as_of, Segment.HOUSEHOLD), caller, request.state.request_id, "household_grade", purpose,
        authorization_ref))


@router.post("/households/grade", response_model=GradeResponse, summary="Grade a household from records you send")
def household_grade_inline(request: Request, body: InlineHouseholdRequest, service: ServiceDep,
                           caller: CallerDep) -> Response:
    caller.require(Role.BANK, Role.ASSESSOR)
    purpose = _required_purpose(body.purpose)
    authorization_ref = _required_authorisation(body.authorization_ref)
    first = (body.records.get("households") or [{}])[0]
    subject = str(first.get("head_id") or first.get("户主身份证号") or first.get("身份证号") or "") or None
    return _audited(request, service, caller, route="household_grade_inline", subject=subject,
                    segment=Segment.HOUSEHOLD, purpose=purpose, authorization_ref=authorization_ref,
                    grade=lambda: service.grade_inline(Segment.HOUSEHOLD, body.records, as_of=body.as_of))

