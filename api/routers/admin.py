"""Model information (analysts) and administration: model reload, the audit log."""

from __future__ import annotations

import datetime as dt
import gc
import io
import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import AuthenticatedRoute, CallerDep, ServiceDep
from api.schemas import PROBLEMS, ModelInfo
from creditscore.service.audit import query_audit, write_audit
from creditscore.service.keys import Role

router = APIRouter(prefix="/v1", tags=["models and administration"], responses=PROBLEMS,
                   route_class=AuthenticatedRoute)


@router.get("/models", response_model=list[ModelInfo], summary="Active model bundles")
def models(service: ServiceDep, caller: CallerDep) -> list[ModelInfo]:
    """The bundle grading each segment, its metrics, training windows and catalogue version."""
    caller.require(Role.ANALYST, Role.BANK, Role.ASSESSOR)
    return [ModelInfo(**m) for m in service.models_info()]


@router.post("/admin/models/reload", summary="Load the promoted models without a restart")
def reload_models(request: Request, service: ServiceDep, caller: CallerDep) -> dict[str, dict[str, str]]:
    """After `creditscore promote`, load the new @champion bundles (the old ones serve until they load)."""
    caller.require(Role.ADMIN)
    before = {m["segment"]: m["version"] for m in service.models_info()}
    loaded = service.reload()
    if {m["segment"]: m["version"] for m in service.models_info()} != before:
        from creditscore.service import alerts

        if alerts.any_watches(service.store):  # a new model moves grades: watched subjects are graded again
            threading.Thread(target=alerts.sweep, args=(service,), kwargs={"cause": "model"}, daemon=True,
                             name="alerts-after-reload").start()
    # The start-up objects were frozen out of the collector (api/app.py): let it see the old bundles go.
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    write_audit(service.store, caller=caller, request_id=request.state.request_id, route="reload_models",
                status=200)
    return {"loaded": loaded}


@router.get("/admin/audit", summary="The audit log (JSON or CSV)", response_class=Response,
            responses={200: {"description": "audit entries, newest first",
                             "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                                         "text/csv": {"schema": {"type": "string"}}}}})
def audit(
    request: Request, service: ServiceDep, caller: CallerDep,
    since: Annotated[dt.datetime | None, Query(description="only entries at or after this time")] = None,
    subject: Annotated[str | None, Query(description="the subject as logged (resident IDs masked)")] = None,
    institution: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Who queried whom, when, why and with what consent (never a full resident ID)."""
    caller.require(Role.ADMIN)
    frame = query_audit(service.store, since=since, subject=subject, institution=institution, limit=limit)
    write_audit(service.store, caller=caller, request_id=request.state.request_id, route="audit", status=200)
    if fmt == "csv":
        buf = io.StringIO()
        frame.to_csv(buf, index=False)
        return Response(buf.getvalue().encode("utf-8-sig"), media_type="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit.csv"})
    return Response(frame.to_json(orient="records", date_format="iso", force_ascii=False),
                    media_type="application/json")
