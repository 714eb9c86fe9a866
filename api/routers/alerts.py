"""Early warning over HTTP: watch lists, the alerts feed (the contract: bank intranets take no inbound calls),
and acknowledging or clearing an alert."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as ApiPath
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import AuthenticatedRoute, CallerDep, ServiceDep
from api.schemas import PROBLEMS
from creditscore.service import alerts
from creditscore.service.keys import Role

router = APIRouter(prefix="/v1", tags=["early warning"], responses=PROBLEMS, route_class=AuthenticatedRoute)


class WatchRequest(BaseModel):
    subject: str = Field(max_length=40, description="a firm's USCC, or a household head's resident ID")
    purpose: str = Field(min_length=2, max_length=200, examples=["loan_monitoring"])
    authorization_ref: str | None = Field(None, max_length=200, description="a person's consent — households")
    grade_floor: str | None = Field(None, max_length=16, description="alert when the grade falls below this")
    expires_on: dt.date | None = Field(None, description="e.g. the loan's maturity — required for households")


class WatchCreated(BaseModel):
    watch_id: int


class AlertAction(BaseModel):
    action: Literal["acknowledged", "cleared"]
    note: str | None = Field(None, max_length=2000)


class Feed(BaseModel):
    items: list[dict]
    next: int = Field(description="ask with after=next for what follows; the same when nothing new")


@router.post("/watches", response_model=WatchCreated, status_code=201, summary="Watch a borrower")
async def add_watch(request: Request, body: WatchRequest, service: ServiceDep, caller: CallerDep) -> WatchCreated:
    """What is on record now is the baseline; anything new raises an alert. Audited."""
    caller.require(Role.BANK)
    watch_id = await run_in_threadpool(
        alerts.add_watch, service, caller, body.subject, purpose=body.purpose,
        authorization_ref=body.authorization_ref, grade_floor=body.grade_floor, expires_on=body.expires_on,
        request_id=request.state.request_id)
    return WatchCreated(watch_id=watch_id)


@router.get("/watches", summary="Your institution's watches")
def list_watches(service: ServiceDep, caller: CallerDep) -> list[dict]:
    caller.require(Role.BANK)
    frame = alerts.list_watches(service.store, caller.institution)
    return [{k: (None if pd.isna(v) else v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


@router.delete("/watches/{watch_id}", status_code=204, summary="Stop watching")
def remove_watch(watch_id: Annotated[int, ApiPath(ge=1, le=2**31 - 1)], service: ServiceDep,
                 caller: CallerDep) -> Response:
    caller.require(Role.BANK)
    alerts.remove_watch(service.store, caller, watch_id)
    return Response(status_code=204)


@router.get("/alerts", response_model=Feed, summary="Your alerts after a cursor")
def alert_feed(service: ServiceDep, caller: CallerDep,
               after: Annotated[int, Query(ge=0, le=2**62, description="the cursor: 0 for everything")] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Feed:
    """In order, each exactly once: the cursor is assigned in commit order, so polling while ingests run never
    skips one. Thin items: rule, severity, the masked subject, the words in Chinese and English."""
    caller.require(Role.BANK)
    items, cursor = alerts.feed(service.store, caller.institution, after=after, limit=limit)
    return Feed(items=items, next=cursor)


@router.post("/alerts/{alert_id}/actions", status_code=204, summary="Acknowledge or clear (解除) an alert")
def act(request: Request, alert_id: Annotated[str, ApiPath(max_length=32)], body: AlertAction, service: ServiceDep,
        caller: CallerDep) -> Response:
    caller.require(Role.BANK)
    alerts.act(service.store, caller, alert_id, action=body.action, note=body.note,
               request_id=request.state.request_id)
    return Response(status_code=204)
