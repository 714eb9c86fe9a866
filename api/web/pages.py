"""The web pages: server-rendered Jinja2, htmx where it helps, plain forms where JavaScript is off.

Every page calls the same library path as the API — :class:`~creditscore.service.grading.GradingService`, the
batch :class:`~creditscore.service.jobs.Jobs`, the audit log — with the user as the caller, so a grade seen on a
page is the grade the API gives, and every subject a page touches is in the audit log with the user's name.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import io
import math
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import yaml
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select

from api.web.i18n import translate
from api.web.session import (
    COOKIE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    LoginRequired,
    PageForbidden,
    checked_form,
    current,
    login_path,
    safe_next,
)
from creditscore.errors import CreditScoreError, InvalidCode, TooLarge, UnknownSubject
from creditscore.records.contracts import KINDS
from creditscore.records.ids import mask_ids_in_text, validate_uscc
from creditscore.records.subjects import Segment
from creditscore.rural.batch import BATCH_KIND, preview_household_file
from creditscore.rural.workbook import CRITERIA_LABELS, HOUSEHOLD_LABELS, PLACE_LABELS, SHEETS
from creditscore.service.accounts import (
    LIFETIME,
    LoginFailed,
    Session,
    authenticate,
    close_session,
    create_user,
    disable_user,
    list_users,
    open_session,
)
from creditscore.service.audit import query_audit, write_audit
from creditscore.service.jobs import BatchQuery, Jobs, RosterOptions
from creditscore.service.keys import Role, list_keys, revoke_key
from creditscore.store.tables import record_table

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).resolve().parent
_ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                   lstrip_blocks=True)

#: Pages' security headers: scripts and styles from this site only, no framing, nothing cached.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
MENU = [("/firms", "查询企业", ("bank",)), ("/households", "查询农户", ("bank",)), ("/watches", "贷后预警", ("bank",)),
        ("/batches", "农户评级", ("assessor",)), ("/admin/users", "用户与密钥", ()),
        ("/admin/audit", "查询日志", ()), ("/admin/models", "模型", ("analyst",))]
ROLE_NAMES = {"bank": "银行", "assessor": "评议员", "analyst": "分析人员", "admin": "管理员"}
HOME = {"bank": "/firms", "assessor": "/batches", "analyst": "/admin/models", "admin": "/admin/users"}
PURPOSES = [("loan_application", "贷款审批"), ("loan_monitoring", "贷后管理"), ("guarantee_review", "担保审核")]
STATUS_NAMES = {"queued": "排队中", "running": "评级中", "done": "已完成", "failed": "失败", "expired": "已过期"}
PAGE_ROWS = 30


def _static(name: str) -> str:
    return f"/static/{name}?v={_static_version(name)}"


@functools.cache
def _static_version(name: str) -> str:
    import hashlib

    return hashlib.sha256((HERE / "static" / name).read_bytes()).hexdigest()[:10]


def _lang(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def page(request: Request, template: str, session: Session | None = None, *, status: int = 200,
         **context: Any) -> HTMLResponse:
    """Render a page with what every page needs: the user, their CSRF token, the language and the menu."""
    lang = _lang(request)
    html = _ENV.get_template(template).render(
        request=request, user=session.user if session else None, csrf=session.csrf_token if session else "",
        lang=lang, t=lambda text: translate(text, lang), static=_static, menu=MENU, role_names=ROLE_NAMES,
        active=context.pop("active", request.url.path), status_names=STATUS_NAMES, **context)
    return _compressed(request, HTMLResponse(html, status_code=status, headers=_HEADERS))


def _compressed(request: Request, response: Response) -> Response:
    """A page gzipped when the browser accepts it: village and township tables shrink five-fold on the slow
    links these users work on. Done here, for pages only — the API's JSON answers stay as they are (their
    latency budget has no room for compression)."""
    if len(response.body) < 1400 or "gzip" not in request.headers.get("accept-encoding", ""):
        return response
    body = gzip.compress(response.body, compresslevel=6)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body, status_code=response.status_code, media_type=response.media_type,
                    headers={**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


def message(request: Request, session: Session | None, heading: str, text: str, *, status: int,
            back: str | None = None) -> HTMLResponse:
    return page(request, "message.html.j2", session, status=status, heading=translate(heading, _lang(request)),
                message=text, bad=status >= 400, back=back)


def _redirect(request: Request, to: str) -> Response:
    """Go to ``to``: a 303 for a form, ``HX-Redirect`` for htmx (it follows that with a page load)."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": to})
    return RedirectResponse(to, status_code=303)


def install(app: Any) -> None:
    """Mount the pages, their static files and their error pages on the application."""
    from fastapi.staticfiles import StaticFiles
    from starlette.middleware.gzip import GZipMiddleware

    # static files gzipped (htmx: 52 KB → 17 KB on the wire); mounted apart, so the API is never compressed
    app.mount("/static", GZipMiddleware(_Cached(StaticFiles(directory=HERE / "static")), minimum_size=1000),
              name="static")
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return _redirect(request, login_path(exc.next_path))

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        session = getattr(request.state, "session", None)
        return message(request, session, "权限不足", exc.message, status=403, back="/")


class _Cached:
    """Static files kept by the browser for a year: their URLs carry their content's hash (``?v=``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def cached(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"cache-control", b"public, max-age=31536000, immutable")]
            await send(message)

        await self.app(scope, receive, cached)


# --- logging in and out ----------------------------------------------------------------------------------------


@router.get("/")
def root(request: Request) -> Response:
    try:
        session = current(request)
    except LoginRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME[session.user.role.value], status_code=303)


def _login_page(request: Request, *, error: str = "", username: str = "", next_path: str = "/",
                status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html.j2", None, status=status, error=error, username=username,
                    next=safe_next(next_path), login_csrf=token)
    response.set_cookie(LOGIN_COOKIE, token, max_age=1800, path="/login", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_path=next)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    given, expected = form.get("csrf_token"), request.cookies.get(LOGIN_COOKIE)
    if not isinstance(given, str) or not expected or not secrets.compare_digest(given, expected):
        return _login_page(request, error="登录表单已过期，请重新输入 — the login form expired: please try again",
                           status=403)
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    store = request.app.state.service.store
    try:
        user = await run_in_threadpool(authenticate, store, username, password)
    except LoginFailed as exc:
        return _login_page(request, error=str(exc), username=username[:64], next_path=str(form.get("next")),
                           status=401)
    token, _ = await run_in_threadpool(open_session, store, user)
    nxt = safe_next(form.get("next"))
    response = RedirectResponse(nxt if nxt != "/" else HOME[user.role.value], status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = current(request)
    await checked_form(request, session)
    close_session(request.app.state.service.store, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def language(request: Request, code: str) -> Response:
    back = safe_next(request.headers.get("referer", "/").split(str(request.base_url).rstrip("/"), 1)[-1])
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(LANG_COOKIE, "en" if code == "en" else "zh", max_age=365 * 86400, path="/",
                        samesite="strict", httponly=True)
    return response


# --- bank officers: firms and households ------------------------------------------------------------------------


def _find_firms(store: Any, q: str, limit: int = 20) -> list[dict[str, object]]:
    table = record_table("enterprises")
    code = q.strip().upper()
    stmt = select(table.c.uscc, table.c.name, table.c.registered_on)
    if re.fullmatch(r"[0-9A-Z]{18}", code):
        stmt = stmt.where(table.c.uscc == code)
    else:
        words = re.sub(r"([%_\\])", r"\\\1", q.strip())
        stmt = stmt.where(table.c.name.like(f"%{words}%", escape="\\"))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt.order_by(table.c.name).limit(limit * 3)).all()
    seen: dict[str, dict[str, object]] = {}
    for r in rows:
        seen.setdefault(r.uscc, {"uscc": r.uscc, "name": r.name, "registered_on": r.registered_on})
    return list(seen.values())[:limit]


@router.get("/firms")
async def firms(request: Request, q: str = "") -> HTMLResponse:
    session = current(request, Role.BANK)
    q = q.strip()[:60]
    error, found = "", []
    if q and len(q) < 2:
        error = "请至少输入两个字 — type at least two characters"
    elif q:
        found = await run_in_threadpool(_find_firms, request.app.state.service.store, q)
        await run_in_threadpool(
            write_audit, request.app.state.service.store, caller=session.user.caller,
            request_id=request.state.request_id, route="web_firm_search", status=200,
            subject_id=q if len(found) == 1 and found[0]["uscc"] == q.upper() else None,
            subject_type="enterprise", purpose=f"查找企业（{len(found)}条）")
    return page(request, "firms.html.j2", session, q=q, firms=found, error=error, active="/firms")


def _firm(store: Any, uscc: str) -> dict[str, object]:
    found = _find_firms(store, uscc, limit=1)
    if not found:
        raise UnknownSubject(f"平台没有统一社会信用代码为{uscc}的企业 — the platform has no firm {uscc}")
    return found[0]


def _timeline(store: Any, subject_id: str, as_of: dt.date | None) -> list[dict[str, str]]:
    """The subject's records as dated lines, newest first: what the grade was computed from."""
    try:
        records = store.subject_records(subject_id, as_of=as_of)
    except UnknownSubject:
        return []
    items = []
    for name, frame in records.items():
        kind = KINDS.get(name)
        if kind is None or kind.is_subject_table or not len(frame):
            continue
        date_field = kind.event_date
        shown = [f for f in kind.fields if f.name not in (date_field, "uscc", "head_id", "subject_id")
                 and not f.name.endswith("_code")][:4]
        for row in frame.itertuples(index=False):
            when = getattr(row, date_field, "") if date_field else ""
            text = "；".join(f"{f.zh}：{_shown(getattr(row, f.name))}" for f in shown
                            if not _missing(getattr(row, f.name)))
            items.append({"date": str(when)[:10], "kind": kind.zh, "text": mask_ids_in_text(text)})
    return sorted(items, key=lambda i: i["date"], reverse=True)[:200]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT


def _shown(value: object) -> str:
    return str(value)[:10] if isinstance(value, (dt.date, pd.Timestamp)) else str(value)


def _flags(record: Any, catalogue: Any) -> list[tuple[str, bool]]:
    return [(catalogue.by_id[k].name_zh, bool(v)) for k, v in record.flags.items() if k in catalogue.by_id]


@router.get("/firms/{uscc}")
async def firm(request: Request, uscc: str) -> HTMLResponse:
    session = current(request, Role.BANK)
    try:
        code = validate_uscc(uscc)
        info = await run_in_threadpool(_firm, request.app.state.service.store, code)
    except (InvalidCode, UnknownSubject) as exc:
        return message(request, session, "请求无效", mask_ids_in_text(str(exc)), status=404, back="/firms")
    return page(request, "firm.html.j2", session, firm=info, record=None, purposes=PURPOSES,
                purpose="loan_application", as_of=None, active="/firms")


def _as_of(value: object) -> dt.date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidCode(f"日期格式应为 YYYY-MM-DD，而不是“{text[:20]}” — a date is YYYY-MM-DD") from None


@router.post("/firms/{uscc}")
async def firm_grade(request: Request, uscc: str) -> HTMLResponse:
    session = current(request, Role.BANK)
    form = await checked_form(request, session)
    service = request.app.state.service
    purpose = str(form.get("purpose") or "")
    try:
        code = validate_uscc(uscc)
        info = await run_in_threadpool(_firm, service.store, code)
    except (InvalidCode, UnknownSubject) as exc:
        return message(request, session, "请求无效", mask_ids_in_text(str(exc)), status=404, back="/firms")
    context = {"firm": info, "purposes": PURPOSES, "purpose": purpose, "as_of": form.get("as_of"),
               "active": "/firms"}
    if purpose not in dict(PURPOSES):
        return page(request, "firm.html.j2", session, record=None, status=422,
                    error="请选择查询用途 — choose the purpose of the query", **context)
    try:
        as_of = _as_of(form.get("as_of"))
    except InvalidCode as exc:
        return page(request, "firm.html.j2", session, record=None, status=422, error=str(exc), **context)
    record, status = None, 200
    try:
        record = await run_in_threadpool(service.grade, code, as_of=as_of, expected=Segment.SME)
    except CreditScoreError as exc:
        status = 404 if isinstance(exc, UnknownSubject) else 422
        return page(request, "firm.html.j2", session, record=None, status=status,
                    error=mask_ids_in_text(str(exc)), **context)
    finally:
        await run_in_threadpool(write_audit, service.store, caller=session.user.caller,
                                request_id=request.state.request_id, route="web_enterprise_grade", status=status,
                                subject_id=code, subject_type="enterprise", purpose=purpose, decision=record)
    timeline = await run_in_threadpool(_timeline, service.store, code, as_of)
    return page(request, "firm.html.j2", session, record=record, timeline=timeline,
                flags=_flags(record, service.catalogues[Segment.SME]), report_url=f"/firms/{code}/report",
                **context)


@router.post("/firms/{uscc}/report")
async def firm_report(request: Request, uscc: str) -> Response:
    """The firm's credit report, issued (recorded for verification) and audited with the user."""
    from creditscore.service.reports import issue

    session = current(request, Role.BANK)
    form = await checked_form(request, session)
    purpose = str(form.get("purpose") or "")
    fmt = "html" if form.get("format") == "html" else "pdf"
    if purpose not in dict(PURPOSES):
        return message(request, session, "请求无效", "请选择查询用途 — choose the purpose", status=422,
                       back=f"/firms/{uscc}")
    try:
        issued = await run_in_threadpool(
            issue, request.app.state.service, uscc, fmt=fmt, caller=session.user.caller,
            request_id=request.state.request_id, route="web_enterprise_report", purpose=purpose,
            as_of=_as_of(form.get("as_of")), expected=Segment.SME)
    except CreditScoreError as exc:
        return message(request, session, "请求无效", mask_ids_in_text(str(exc)), status=422, back=f"/firms/{uscc}")
    headers = {"Cache-Control": "no-store", "X-Report-Number": issued.report.number}
    if fmt == "pdf":
        headers["Content-Disposition"] = f"attachment; filename={issued.filename}"
    else:  # the report's own styles, no script
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    return Response(issued.document, media_type=issued.media_type, headers=headers)


@router.get("/households")
def household_form(request: Request) -> HTMLResponse:
    session = current(request, Role.BANK)
    return page(request, "household.html.j2", session, purposes=PURPOSES, purpose="loan_application",
                authorization_ref="", errors={}, record=None)


@router.post("/households")
async def household_grade(request: Request) -> HTMLResponse:
    session = current(request, Role.BANK)
    form = await checked_form(request, session)
    service = request.app.state.service
    resident_id = str(form.get("resident_id") or "").strip()
    purpose = str(form.get("purpose") or "")
    reference = str(form.get("authorization_ref") or "").strip()[:60]
    context = {"purposes": PURPOSES, "purpose": purpose, "authorization_ref": mask_ids_in_text(reference)}
    errors = {}
    if len(reference) < 4:
        errors["authorization_ref"] = ("查询个人须填写本人书面授权书的编号（至少4个字符） — querying a person needs "
                                       "the reference of their signed consent")
    if purpose not in dict(PURPOSES):
        errors["purpose"] = "请选择查询用途 — choose the purpose"
    if errors:
        return page(request, "household.html.j2", session, status=422, errors=errors, record=None, **context)
    record, status = None, 200
    try:
        record = await run_in_threadpool(service.grade, resident_id, expected=Segment.HOUSEHOLD)
    except CreditScoreError as exc:
        status = 404 if isinstance(exc, UnknownSubject) else 422
        return page(request, "household.html.j2", session, status=status, record=None,
                    errors={"resident_id": mask_ids_in_text(str(exc))}, **context)
    finally:
        await run_in_threadpool(write_audit, service.store, caller=session.user.caller,
                                request_id=request.state.request_id, route="web_household_grade", status=status,
                                subject_id=resident_id, subject_type="household", purpose=purpose,
                                authorization_ref=reference, decision=record)
    timeline = await run_in_threadpool(_timeline, service.store, record.subject_id, None)
    return page(request, "household.html.j2", session, status=200, errors={}, record=record.masked(),
                timeline=timeline, flags=_flags(record, service.catalogues[Segment.HOUSEHOLD]), **context)


@router.post("/households/report")
async def household_report(request: Request) -> Response:
    """A household's credit report, from the lookup form itself: the ID is posted again, never put in a page."""
    from creditscore.service.reports import issue

    session = current(request, Role.BANK)
    form = await checked_form(request, session)
    resident_id = str(form.get("resident_id") or "").strip()
    purpose = str(form.get("purpose") or "")
    reference = str(form.get("authorization_ref") or "").strip()[:60]
    context = {"purposes": PURPOSES, "purpose": purpose, "authorization_ref": mask_ids_in_text(reference),
               "record": None}
    if len(reference) < 4 or purpose not in dict(PURPOSES):
        return page(request, "household.html.j2", session, status=422, errors={
            "authorization_ref": "查询个人须填写本人书面授权书的编号并选择用途 — give the consent's reference and the "
                                 "purpose"}, **context)
    try:
        issued = await run_in_threadpool(
            issue, request.app.state.service, resident_id, fmt="pdf", caller=session.user.caller,
            request_id=request.state.request_id, route="web_household_report", purpose=purpose,
            authorization_ref=reference, expected=Segment.HOUSEHOLD)
    except CreditScoreError as exc:
        return page(request, "household.html.j2", session, status=422,
                    errors={"resident_id": mask_ids_in_text(str(exc))}, **context)
    return Response(issued.document, media_type=issued.media_type, headers={
        "Content-Disposition": f"attachment; filename={issued.filename}", "Cache-Control": "no-store",
        "X-Report-Number": issued.report.number})


def _watch_page(request: Request, session: Session, *, error: str = "", uscc: str = "",
                status: int = 200) -> HTMLResponse:
    from creditscore.service import alerts

    store = request.app.state.service.store
    institution = session.user.institution
    watches = alerts.list_watches(store, institution)
    watches = watches[watches["removed_at"].isna()].astype(object).where(watches.notna(), None)
    items, _ = alerts.feed(store, institution, after=0, limit=1000)
    items = items[-200:][::-1]  # the newest first, the latest 200
    done = alerts.actions_of(store, [i["alert_id"] for i in items])
    for item in items:
        item["action"] = {"acknowledged": "已阅", "cleared": "已解除"}.get(done.get(item["alert_id"], ""), "")
    return page(request, "watches.html.j2", session, status=status, watches=watches.to_dict("records"),
                alerts=items, error=error, uscc=uscc, severity_zh=alerts.SEVERITY_ZH,
                grades=request.app.state.service.models.scorer(Segment.SME).scale.names, active="/watches")


@router.get("/watches")
def watches_page(request: Request) -> HTMLResponse:
    return _watch_page(request, current(request, Role.BANK))


@router.post("/watches")
async def watch_add(request: Request) -> Response:
    from creditscore.service import alerts

    session = current(request, Role.BANK)
    form = await checked_form(request, session)
    uscc = str(form.get("uscc") or "").strip()[:18]
    try:
        await run_in_threadpool(alerts.add_watch, request.app.state.service, session.user.caller, uscc,
                                purpose="loan_monitoring", grade_floor=str(form.get("grade_floor") or "") or None,
                                expires_on=_as_of(form.get("expires_on")), request_id=request.state.request_id)
    except CreditScoreError as exc:
        return _watch_page(request, session, error=mask_ids_in_text(str(exc)), uscc=mask_ids_in_text(uscc),
                           status=422)
    return _redirect(request, "/watches")


@router.post("/watches/{watch_id}/remove")
async def watch_remove(request: Request, watch_id: int) -> Response:
    from creditscore.service import alerts

    session = current(request, Role.BANK)
    await checked_form(request, session)
    try:
        alerts.remove_watch(request.app.state.service.store, session.user.caller, watch_id)
    except CreditScoreError as exc:
        return _watch_page(request, session, error=str(exc), status=404)
    return _redirect(request, "/watches")


@router.post("/alerts/{alert_id}")
async def alert_act(request: Request, alert_id: str) -> Response:
    from creditscore.service import alerts

    session = current(request, Role.BANK)
    form = await checked_form(request, session)
    action = form.get("action")
    if action not in ("acknowledged", "cleared"):
        return _watch_page(request, session, error="未知操作 — unknown action", status=422)
    try:
        alerts.act(request.app.state.service.store, session.user.caller, alert_id[:32], action=action,
                   note=str(form.get("note") or "")[:200], request_id=request.state.request_id)
    except CreditScoreError as exc:
        return _watch_page(request, session, error=str(exc), status=404)
    return _redirect(request, "/watches")


# --- village assessors: household files -------------------------------------------------------------------------


def _jobs(request: Request) -> Jobs:
    return request.app.state.jobs


def _owner(session: Session) -> str:
    return session.user.caller.key_prefix


@router.get("/batches")
def batches(request: Request, error: str = "") -> HTMLResponse:
    session = current(request, Role.ASSESSOR)
    jobs = _jobs(request).list_for(None if session.user.role is Role.ADMIN else _owner(session))
    limit = request.app.state.service.settings.max_upload_bytes
    return page(request, "batches.html.j2", session, jobs=jobs, error=error, max_mb=limit // 1_000_000)


def _mappings_folder(request: Request) -> Path:
    folder = request.app.state.service.settings.data_dir / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _saved_mapping(request: Request, session: Session) -> dict[str, str]:
    path = _mappings_folder(request) / f"{_owner(session).replace(':', '_')}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (data.get("columns") or {}).items()}


@router.post("/batches/upload")
async def upload(request: Request) -> Response:
    session = current(request, Role.ASSESSOR)
    form = await checked_form(request, session)
    file = form.get("file")
    if file is None or isinstance(file, str) or not file.filename:
        return _upload_error(request, session, "请选择要上传的文件 — choose a file to upload")
    try:
        stage_id = await run_in_threadpool(
            _jobs(request).stage, file.file, owner=_owner(session), filename=Path(file.filename).name,
            max_bytes=request.app.state.service.settings.max_upload_bytes)
    except TooLarge as exc:
        return _upload_error(request, session, str(exc), status=413)
    finally:
        await file.close()
    return _redirect(request, f"/batches/staged/{stage_id}")


def _upload_error(request: Request, session: Session, text: str, status: int = 422) -> Response:
    if request.headers.get("hx-request"):  # htmx puts the answer under the form
        return HTMLResponse(f'<p class="field-error" role="alert">{_escape(text)}</p>', status_code=200,
                            headers=_HEADERS)
    response = batches(request, error=text)
    response.status_code = status
    return response


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def _field_choices() -> list[tuple[str, str]]:
    out = [(f.name, f"{f.zh} ({f.name})") for f in BATCH_KIND.fields]
    return [*out, ("serial", "序号 (serial)"), ("phone", "联系电话 (phone)"), ("remark", "备注 (remark)")]


def _townships(store: Any) -> list[str]:
    places = store.places()
    return sorted(set(places["township_name"].dropna())) if len(places) else []


async def _confirm_page(request: Request, session: Session, stage_id: str, *, error: str = "",
                        mapping: dict[str, str] | None = None, values: dict[str, str] | None = None,
                        status: int = 200) -> HTMLResponse:
    jobs = _jobs(request)
    path, filename = jobs.staged_file(stage_id, _owner(session))
    mapping = mapping if mapping is not None else _saved_mapping(request, session)
    options = RosterOptions(columns=mapping or None)
    try:
        sheets = await run_in_threadpool(preview_household_file, path, options=options)
    except CreditScoreError as exc:
        return message(request, session, "请求无效", mask_ids_in_text(str(exc)), status=422, back="/batches")
    values = values or {}
    store = request.app.state.service.store
    return page(request, "confirm.html.j2", session, status=status, stage_id=stage_id, filename=filename,
                layouts=_layouts(sheets), unread=_unread(sheets), fields=_field_choices(), mapping=mapping,
                townships=_townships(store),
                township=values.get("township", ""), village_code=values.get("village_code", ""),
                purpose=values.get("purpose", "信用村评定"), authorization_ref=values.get("authorization_ref", ""),
                as_of=values.get("as_of", ""), error=error, active="/batches")


def _layouts(sheets: list[Any]) -> list[dict[str, object]]:
    """Sheets grouped by their header row: a township's twenty village sheets are usually one layout, shown once."""
    groups: dict[tuple, dict[str, object]] = {}
    for sheet in sheets:
        key = (tuple(sheet.columns), sheet.skipped, sheet.problem)
        group = groups.setdefault(key, {"names": [], "columns": sheet.columns, "reasons": sheet.reasons,
                                        "skipped": sheet.skipped, "problem": sheet.problem, "places": []})
        group["names"].append(sheet.sheet or "1")
        place = f"{sheet.context.township or ''}{sheet.context.village or ''}"
        if place:
            group["places"].append(place)
    return list(groups.values())


def _unread(sheets: list[Any]) -> list[str]:
    """The columns no rule recognised (or that could be two fields), each once however many sheets have it."""
    out: dict[str, None] = {}
    for sheet in sheets:
        if sheet.skipped:
            continue
        for col in sheet.columns:
            if not col.startswith("column_") and (col in sheet.unread or (sheet.problem and col not in sheet.read)):
                out[col] = None
    return list(out)


@router.get("/batches/staged/{stage_id}")
async def confirm(request: Request, stage_id: str) -> HTMLResponse:
    session = current(request, Role.ASSESSOR)
    try:
        return await _confirm_page(request, session, stage_id)
    except UnknownSubject as exc:
        return message(request, session, "请求无效", str(exc), status=404, back="/batches")


@router.post("/batches/staged/{stage_id}")
async def start(request: Request, stage_id: str) -> Response:
    session = current(request, Role.ASSESSOR)
    form = await checked_form(request, session)
    mapping = {**_saved_mapping(request, session)}
    for key, value in form.multi_items():
        if key.startswith("map:") and isinstance(value, str) and value:
            mapping[key[4:]] = value
    values = {k: str(form.get(k) or "").strip() for k in ("township", "village_code", "purpose", "authorization_ref",
                                                         "as_of")}
    errors = []
    if len(values["purpose"]) < 2:
        errors.append("请填写查询用途 — give the purpose")
    if len(values["authorization_ref"]) < 4:
        errors.append("请填写农户授权书编号（至少4个字符） — give the reference of the households' consents")
    try:
        as_of = _as_of(values["as_of"])
        options = RosterOptions(columns=mapping or None, village_code=values["village_code"] or None,
                                township=values["township"] or None)
    except CreditScoreError as exc:
        errors.append(str(exc))
    try:
        if errors:
            return await _confirm_page(request, session, stage_id, error="；".join(errors), mapping=mapping,
                                       values=values, status=422)
        path, _ = _jobs(request).staged_file(stage_id, _owner(session))
        sheets = await run_in_threadpool(preview_household_file, path, options=options)
        problems = [f"{s.sheet}: {s.problem}" if s.sheet else s.problem for s in sheets if s.problem]
        if problems:
            return await _confirm_page(request, session, stage_id, error="；".join(problems), mapping=mapping,
                                       values=values, status=422)
    except UnknownSubject as exc:
        return message(request, session, "请求无效", str(exc), status=404, back="/batches")
    if form.get("save_mapping") and mapping:
        (_mappings_folder(request) / f"{_owner(session).replace(':', '_')}.yaml").write_text(
            yaml.safe_dump({"columns": mapping}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    query = BatchQuery(session.user.caller, values["purpose"], values["authorization_ref"], "web_household_batch",
                       request.state.request_id)
    job_id = _jobs(request).submit_staged(stage_id, query, as_of=as_of, options=options)
    return _redirect(request, f"/batches/{job_id}")


def _job(request: Request, session: Session, job_id: str) -> dict[str, object]:
    job = _jobs(request).get(job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
    if job is None or (job["owner"] != _owner(session) and session.user.role is not Role.ADMIN):
        raise UnknownSubject("没有这个评级任务 — no such job")
    return job


@router.get("/batches/{job_id}/progress")
def progress(request: Request, job_id: str) -> HTMLResponse:
    session = current(request, Role.ASSESSOR)
    try:
        job = _job(request, session, job_id)
    except UnknownSubject as exc:
        return message(request, session, "请求无效", str(exc), status=404, back="/batches")
    lang = _lang(request)
    html = _ENV.get_template("job_progress.html.j2").render(job=job, t=lambda s: translate(s, lang),
                                                             status_names=STATUS_NAMES)
    return HTMLResponse(html, headers=_HEADERS)


@functools.lru_cache(maxsize=8)
def _result_tables(path: str, _mtime: float) -> dict[str, pd.DataFrame]:
    """The finished workbook's sheets (read once per job and change, not per page view)."""
    return pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine="calamine")


#: The columns a page shows of each sheet (the workbook has them all): what an assessor reads at a glance.
#: Taken from the workbook's own labels, so a renamed column cannot leave the page showing nothing.
SHOWN = {
    "households": [HOUSEHOLD_LABELS[c] for c in ("sheet", "row", "head_name", "head_id", "village_name", "grade",
                                                 "score", "credit_line_yuan", "reasons_zh")],
    "places": [*(PLACE_LABELS[c] for c in ("township_name", "village_name", "households", "listed",
                                           "credit_households")),
               *CRITERIA_LABELS.values(), PLACE_LABELS["credit_villages"], "是否信用村", "是否信用乡镇", "评定说明"],
}
_PERCENT = tuple(CRITERIA_LABELS.values())


def _table(frame: pd.DataFrame, rows: int | None = None, *, shown: str | None = None) -> dict[str, object]:
    if shown is not None:
        frame = frame[[c for c in SHOWN[shown] if c in frame]]
    part = (frame if rows is None else frame.head(rows)).copy()
    for column in _PERCENT:
        if column in part:
            values = pd.to_numeric(part[column], errors="coerce")
            part[column] = ["" if math.isnan(v) else f"{v * 100:.1f}%" for v in values]
    return {"columns": list(part.columns), "rows": part.values.tolist(), "total": len(frame), "charts": []}


CRITERIA = tuple(CRITERIA_LABELS.values())


def _criteria_charts(frame: pd.DataFrame, name_column: str, *, labelled: int = 25) -> list[str]:
    """One small SVG per criterion: each place's value as a bar (green met, red missed), the standard dashed.

    Up to ``labelled`` places each get a labelled bar; more (a county's hundred villages) are drawn as one sorted
    strip of unlabelled bars — the distribution against the standard — while the table names them. Plain SVG
    elements, one path per colour: no script, no inline style (the pages' CSP forbids both), a few KB.
    """
    charts = []
    if name_column not in frame or not len(frame):
        return charts
    for label in CRITERIA:
        if label not in frame or f"{label}标准" not in frame:
            continue
        values = pd.to_numeric(frame[label], errors="coerce")
        thresholds = pd.to_numeric(frame[f"{label}标准"], errors="coerce")
        met = frame.get(f"{label}达标", pd.Series("", index=frame.index)).to_numpy()
        if values.isna().all():
            continue
        top = max(float(values.max()), float(thresholds.max()) if thresholds.notna().any() else 0.0, 1e-9)
        names = frame[name_column].astype(str).to_numpy()
        order = np.argsort(-values.fillna(-1).to_numpy(), kind="stable")
        labelled_bars = len(frame) <= labelled
        row = 18 if labelled_bars else 4
        left = 110 if labelled_bars else 0
        paths = {"是": [], "否": []}
        texts = []
        for k, i in enumerate(order):
            v = values.iloc[i]
            y = k * row
            if labelled_bars:
                texts.append(f'<text x="0" y="{y + 13}">{_escape(names[i][:10])}</text>')
            if math.isnan(v):
                continue
            width = 280 * v / top
            paths["是" if met[i] == "是" else "否"].append(f"M{left} {y + 1}h{width:.1f}v{row - 2}h{-width:.1f}z")
            if labelled_bars:
                texts.append(f'<text x="{left + 4 + width:.1f}" y="{y + 13}">{v * 100:.1f}%</text>')
        height = row * len(frame) + 4
        standard = thresholds.dropna()
        line = ""
        if len(standard):
            x = left + 280 * float(standard.iloc[0]) / top
            line = (f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="#1f2933" '
                    'stroke-dasharray="3 2"/>')
        n_met, n_missed = int((met == "是").sum()), int((met == "否").sum())
        charts.append(
            f'<figure><figcaption>{_escape(label)}：{n_met}个达标，{n_missed}个未达标（虚线为标准'
            f'{float(standard.iloc[0]) * 100 if len(standard) else 0:.1f}%）</figcaption>'
            f'<svg role="img" aria-label="{_escape(label)}" width="460" height="{height}" viewBox="0 0 460 {height}">'
            f'<path fill="#1a7f37" d="{"".join(paths["是"])}"/><path fill="#b42318" d="{"".join(paths["否"])}"/>'
            f'{"".join(texts)}{line}</svg></figure>')
    return charts


@router.get("/batches/{job_id}")
def job_page(request: Request, job_id: str, q: str = "", village: str = "", grade: str = "") -> HTMLResponse:
    session = current(request, Role.ASSESSOR)
    try:
        job = _job(request, session, job_id)
    except UnknownSubject as exc:
        return message(request, session, "请求无效", str(exc), status=404, back="/batches")
    asked = request.query_params.get("page", "1")
    page_no = max(int(asked), 1) if asked.isdigit() and len(asked) < 7 else 1
    result = None
    pages = 1
    if job["status"] == "done":
        workbook = _jobs(request).outputs(job_id)[0]
        sheets = _result_tables(str(workbook), workbook.stat().st_mtime)
        households = sheets.get(SHEETS["households"], pd.DataFrame())
        keep = pd.Series(True, index=households.index)
        if q and "户主姓名" in households:
            keep &= households["户主姓名"].str.contains(q.strip(), regex=False)
        if village and "村" in households:
            keep &= households["村"] == village
        if grade and "信用等级" in households:
            keep &= households["信用等级"] == grade
        chosen = households[keep]
        pages = max(math.ceil(len(chosen) / PAGE_ROWS), 1)
        page_no = min(page_no, pages)
        villages = sheets.get(SHEETS["villages"], pd.DataFrame())
        townships = sheets.get(SHEETS["townships"], pd.DataFrame())
        result = {
            "households": {**_table(chosen.iloc[(page_no - 1) * PAGE_ROWS:page_no * PAGE_ROWS],
                                    shown="households"), "total": len(chosen)},
            "villages": {**_table(villages, shown="places"), "charts": _criteria_charts(villages, "村")},
            "townships": {**_table(townships, shown="places"), "charts": _criteria_charts(townships, "乡镇")},
            "errors": _table(sheets.get(SHEETS["errors"], pd.DataFrame()), rows=200),
            "village_names": sorted(set(households.get("村", pd.Series(dtype=str))) - {""}),
            "grades": [g for g in ("AAA", "AA", "A", "非信用户") if g in set(households.get("信用等级", []))],
        }

    def query(**changes: object) -> str:
        params = {"q": q, "village": village, "grade": grade, "page": page_no, **changes}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    return page(request, "job.html.j2", session, job=job, result=result, q=q, village=village, grade=grade,
                page=page_no, pages=pages, query=query, active="/batches")


def _finished(request: Request, job_id: str) -> dict[str, object] | Response:
    """The caller's finished job, or the page that says why there is nothing to download (404, 409)."""
    session = current(request, Role.ASSESSOR)
    try:
        job = _job(request, session, job_id)
    except UnknownSubject as exc:
        return message(request, session, "请求无效", str(exc), status=404, back="/batches")
    if job["status"] != "done":
        return message(request, session, "请求无效", "仍在评级中，请稍后再取 — still grading", status=409,
                       back=f"/batches/{job_id}")
    return job


@router.get("/batches/{job_id}/workbook")
def job_workbook(request: Request, job_id: str) -> Response:
    job = _finished(request, job_id)
    if isinstance(job, Response):
        return job
    data = _jobs(request).outputs(job_id)[0].read_bytes()
    name = Path(str(job["filename"])).stem + "-评级结果.xlsx"
    from urllib.parse import quote

    return Response(io.BytesIO(data).getvalue(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=grades.xlsx; filename*=UTF-8''{quote(name)}",
                             "Cache-Control": "no-store"})


@router.get("/batches/{job_id}/report")
def job_report(request: Request, job_id: str) -> Response:
    job = _finished(request, job_id)
    if isinstance(job, Response):
        return job
    html = _jobs(request).outputs(job_id)[1].read_text(encoding="utf-8")
    # the printable report carries its own styles and inline SVG charts, and no script at all
    return HTMLResponse(html, headers={**_HEADERS, "Content-Security-Policy":
                                       "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                       "frame-ancestors 'none'"})


# --- administrators ---------------------------------------------------------------------------------------------


@router.get("/admin/users")
def users_page(request: Request) -> HTMLResponse:
    session = current(request)
    if session.user.role is not Role.ADMIN:
        raise PageForbidden("只有管理员可以管理用户和密钥 — only an administrator manages users and keys")
    store = request.app.state.service.store
    return page(request, "users.html.j2", session, users=list_users(store).to_dict("records"),
                keys=list_keys(store).to_dict("records"), roles=[r.value for r in Role], error="")


@router.post("/admin/users")
async def users_action(request: Request) -> HTMLResponse:
    session = current(request)
    if session.user.role is not Role.ADMIN:
        raise PageForbidden("只有管理员可以管理用户和密钥 — only an administrator manages users and keys")
    form = await checked_form(request, session)
    store = request.app.state.service.store
    action = form.get("action")
    error, status = "", 200
    try:
        if action == "create_user":
            create_user(store, str(form.get("username") or ""), str(form.get("password") or ""),
                        role=str(form.get("role") or ""), institution=str(form.get("institution") or ""),
                        display_name=str(form.get("display_name") or "") or None)
        elif action == "disable_user":
            disable_user(store, str(form.get("username") or ""))
        elif action == "revoke_key":
            revoke_key(store, str(form.get("prefix") or ""))
        else:
            error, status = "未知操作 — unknown action", 422
    except CreditScoreError as exc:
        error, status = str(exc), 422
    write_audit(store, caller=session.user.caller, request_id=request.state.request_id,
                route=f"web_admin_{action}"[:120], status=status)
    return page(request, "users.html.j2", session, status=status, users=list_users(store).to_dict("records"),
                keys=list_keys(store).to_dict("records"), roles=[r.value for r in Role], error=error,
                active="/admin/users")


def _audit_frame(request: Request) -> pd.DataFrame:
    p = request.query_params

    def day(name: str) -> dt.datetime | None:
        value = p.get(name, "").strip()
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC) if value else None

    frame = query_audit(request.app.state.service.store, since=day("since"),
                        until=(day("until") + dt.timedelta(days=1)) if p.get("until") else None,
                        institution=p.get("institution") or None, route=p.get("route") or None,
                        limit=5000)
    return frame.drop(columns=["row_hash"], errors="ignore")


@router.get("/admin/audit")
def audit_page(request: Request) -> Response:
    session = current(request)
    if session.user.role is not Role.ADMIN:
        raise PageForbidden("只有管理员可以查看查询日志 — only an administrator reads the audit log")
    try:
        frame = _audit_frame(request)
    except ValueError:
        return message(request, session, "请求无效", "日期格式应为 YYYY-MM-DD — a date is YYYY-MM-DD", status=422,
                       back="/admin/audit")
    if request.query_params.get("format") == "csv":
        return Response(frame.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=audit.csv", "Cache-Control": "no-store"})
    params = {k: request.query_params.get(k, "") for k in ("institution", "route", "since", "until")}
    return page(request, "audit.html.j2", session, rows=frame.head(500).to_dict("records"), total=len(frame),
                params=params, export="?" + urlencode({**params, "format": "csv"}))


@router.get("/admin/models")
def models_page(request: Request) -> HTMLResponse:
    session = current(request, Role.ANALYST)
    return page(request, "models.html.j2", session, models=request.app.state.service.models_info(), reloaded=None)


@router.post("/admin/models")
async def models_reload(request: Request) -> HTMLResponse:
    session = current(request)
    if session.user.role is not Role.ADMIN:
        raise PageForbidden("只有管理员可以重新加载模型 — only an administrator reloads the models")
    await checked_form(request, session)
    service = request.app.state.service
    reloaded = await run_in_threadpool(service.reload)
    write_audit(service.store, caller=session.user.caller, request_id=request.state.request_id,
                route="web_admin_models_reload", status=200)
    return page(request, "models.html.j2", session, models=service.models_info(), reloaded=reloaded)
