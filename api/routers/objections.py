"""Objections (异议) over HTTP: a bank files one on a subject's behalf; the platform answers within 20 days."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AuthenticatedRoute, CallerDep, ServiceDep
from api.schemas import PROBLEMS
from creditscore.service.audit import write_audit
from creditscore.service.keys import Role
from creditscore.service.objections import file_objection, list_objections, resolve_objection

router = APIRouter(prefix="/v1/objections", tags=["objections"], responses=PROBLEMS,
                   route_class=AuthenticatedRoute)


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "record_kind": "penalties", "record_key": "91350100M000100Y43|闽榕市监罚〔2024〕7号",
        "filed_by": "法定代表人 王某（经办银行代为提交）", "reason": "该处罚已被行政复议撤销"}]})

    record_kind: str = Field(min_length=2, max_length=40, description="kind of the record objected to")
    record_key: str = Field(min_length=3, max_length=300, description="the record's key (see the grade's data)")
    filed_by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected"]
    resolved_by: str = Field(min_length=1, max_length=150)
    remove: bool = Field(False, description="upheld: remove the record")
    corrections: dict[str, str] | None = Field(None, description="upheld: field → corrected value (as text)")


class Filed(BaseModel):
    id: int
    record_kind: str
    record_key: str
    filed_on: dt.date
    deadline: dt.date


@router.post("", response_model=Filed, status_code=201, summary="File an objection (the record stops counting)",
             responses={201: {"description": "filed", "links": {"resolve": {
                 "operationId": "resolve_objection", "parameters": {"objection_id": "$response.body#/id"}}}}})
def file(request: Request, body: ObjectionRequest, service: ServiceDep, caller: CallerDep) -> Filed:
    caller.require(Role.BANK, Role.ASSESSOR)
    filed = file_objection(service.store, body.record_kind, body.record_key, filed_by=body.filed_by,
                           reason=body.reason, policy=service.policy)
    write_audit(service.store, caller=caller, request_id=request.state.request_id, route="objection_file",
                status=201, purpose=f"objection {filed.id}")
    return Filed(id=filed.id, record_kind=filed.target_kind, record_key=filed.target_key, filed_on=filed.filed_on,
                 deadline=filed.deadline)


@router.post("/{objection_id}/resolution", summary="Answer an objection (upheld: correct or remove; rejected)",
             operation_id="resolve_objection")
def resolve(request: Request, objection_id: Annotated[int, Path(ge=1, le=2**62, description="objection id")],
            body: Resolution, service: ServiceDep, caller: CallerDep) -> dict[str, str]:
    caller.require(Role.ADMIN)
    action = resolve_objection(service.store, objection_id, upheld=body.outcome == "upheld",
                               resolved_by=body.resolved_by, remove=body.remove, corrections=body.corrections)
    write_audit(service.store, caller=caller, request_id=request.state.request_id, route="objection_resolve",
                status=200, purpose=f"objection {objection_id}: {action}")
    return {"objection": str(objection_id), "action": action}


@router.get("", summary="Objections with their deadlines (overdue ones on request)")
def objections(service: ServiceDep, caller: CallerDep,
               overdue: Annotated[bool, Query(description="only those unanswered past the deadline")] = False
               ) -> list[dict[str, object]]:
    caller.require(Role.ADMIN)
    frame = list_objections(service.store, overdue_on=dt.date.today() if overdue else None, policy=service.policy)
    frame = frame.astype(object).where(frame.notna(), None)
    for col in ("filed_on", "resolved_on", "deadline"):
        frame[col] = frame[col].map(lambda v: None if v is None else str(v)[:10])
    return frame.drop(columns=["record_key"]).to_dict(orient="records")
