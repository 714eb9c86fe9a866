"""RFC 9457 problem details: the library's error family mapped to HTTP statuses in one place."""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.batching import Overloaded
from creditscore.errors import (
    ConfigError,
    CreditScoreError,
    InvalidCode,
    InvalidRecord,
    ModelMismatch,
    NotReady,
    TooLarge,
    UnknownKind,
    UnknownSubject,
    UnreadableFile,
)
from creditscore.records.ids import mask_ids_in_text
from creditscore.service.keys import NotAuthenticated, NotPermitted
from creditscore.service.models import ModelsUnavailable
from creditscore.service.objections import ObjectionError, UnknownObjection
from creditscore.store import STORE_UNAVAILABLE, store_unavailable

log = logging.getLogger("creditscore.api")

PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[Exception], int, str]] = [
    (NotAuthenticated, 401, "not authenticated"),
    (NotPermitted, 403, "not permitted"),
    (UnknownSubject, 404, "unknown subject"),
    (UnknownObjection, 404, "unknown objection or record"),
    (NotReady, 409, "not ready"),
    (ObjectionError, 422, "objection not possible"),
    (InvalidCode, 422, "invalid identifier"),
    (InvalidRecord, 422, "invalid records"),
    (UnknownKind, 422, "unknown record kind"),
    (UnreadableFile, 422, "unreadable file"),
    (ModelMismatch, 503, "model unavailable"),
    (ModelsUnavailable, 503, "model unavailable"),
    (ConfigError, 503, "configuration error"),
]


def problem(request: Request, status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    # "instance" is the request's path: a household's holds the resident ID, masked as everywhere we display one;
    # the detail may quote what was sent (a record key, an identifier on the wrong route): masked too
    body = {"type": "about:blank", "title": title, "status": status, "detail": mask_ids_in_text(detail),
            "instance": mask_ids_in_text(str(request.url.path)),
            "request_id": getattr(request.state, "request_id", None), **extra}
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def internal_error(request: Request) -> JSONResponse:
    """A bug: nothing the caller can fix, nothing about the deployment; the request id finds it in the log."""
    return problem(request, 500, "internal error", "an unexpected error occurred; quote the request id")


def install(app: FastAPI) -> None:
    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> JSONResponse:
        return problem(request, 413, "payload too large", str(exc))

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        response = problem(request, 503, "overloaded", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    async def out_of_reach(request: Request, exc: Exception) -> JSONResponse:
        if not store_unavailable(exc):  # SQLite's "no such table", say: a bug, answered and logged as one
            log.error("store error: %s", mask_ids_in_text("".join(traceback.format_exception(exc))))
            return internal_error(request)
        # One line, not a traceback per request while the database is down; the driver's message only
        # (SQLAlchemy's text carries the statement's parameters: subject ids), IDs masked all the same.
        cause = getattr(exc, "orig", None) or exc
        log.warning("store unavailable (%s): %s", type(cause).__name__,
                    mask_ids_in_text(str(cause).splitlines()[0] if str(cause) else ""))
        response = problem(request, 503, "store unavailable", "the credit information store cannot be reached "
                                                              "just now; retry shortly")
        response.headers["Retry-After"] = "5"
        return response

    for cls in STORE_UNAVAILABLE:
        app.add_exception_handler(cls, out_of_reach)

    @app.exception_handler(CreditScoreError)
    async def domain(request: Request, exc: CreditScoreError) -> JSONResponse:
        for cls, status, title in _STATUS:
            if isinstance(exc, cls):
                extra = {"problems": exc.problems} if hasattr(exc, "problems") else {}
                return problem(request, status, title, str(exc), **extra)
        return problem(request, 422, "cannot be done", str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"location": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{p['location']}: {p['reason']}" for p in problems)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):  # not JSON at all: a malformed body
            return problem(request, 400, "malformed body", "the body is not valid JSON: " + detail, problems=problems)
        return problem(request, 422, "invalid request", detail, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(request, exc.status_code, str(exc.detail).lower(), str(exc.detail))
        for name, value in (exc.headers or {}).items():  # 405's Allow, for one
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request)
