"""Who is on a page: the session cookie, the CSRF token every form carries, and the role a page needs.

The cookie is ``HttpOnly`` (no script reads it) and ``SameSite=Strict`` (no other site's page sends it), and
``Secure`` behind HTTPS. It holds a random token; the session itself is in the store
(:mod:`creditscore.service.accounts`). Every form posts the session's CSRF token; the login form, before any
session exists, posts a token that must equal a short-lived cookie of its own (double submit).
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import FormData

from creditscore.service.accounts import Session, session_for
from creditscore.service.keys import NotAuthenticated, Role

COOKIE = "cs_session"
LOGIN_COOKIE = "cs_login"
LANG_COOKIE = "cs_lang"


class LoginRequired(Exception):
    """No live session: the visitor is sent to the login page, and back here after it."""

    def __init__(self, next_path: str, message: str = "") -> None:
        super().__init__(message)
        self.next_path = next_path
        self.message = message


class PageForbidden(Exception):
    """A session whose role may not open this page, or a form without its CSRF token."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current(request: Request, *roles: Role) -> Session:
    """The request's session; the user's role must be one of ``roles`` (admin may do everything)."""
    try:
        session = session_for(request.app.state.service.store, request.cookies.get(COOKIE))
    except NotAuthenticated as exc:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/", str(exc)) from None
    if roles and session.user.role is not Role.ADMIN and session.user.role not in roles:
        raise PageForbidden("你的角色无权打开此页面 — your role may not open this page")
    request.state.session = session
    return session


async def checked_form(request: Request, session: Session) -> FormData:
    """The posted form, once its CSRF token is the session's; raises :class:`PageForbidden` otherwise."""
    form = await request.form()
    given = form.get("csrf_token")
    if not isinstance(given, str) or not secrets.compare_digest(given, session.csrf_token):
        raise PageForbidden("表单已过期或来源不明，请刷新页面后重试 — the form has expired or did not come from this "
                            "site: reload the page and try again")
    return form


def login_path(next_path: str) -> str:
    return "/login" + (f"?next={quote(next_path, safe='/')}" if next_path and next_path != "/" else "")


def safe_next(value: object) -> str:
    """Where to go after logging in: a path on this site only (never ``//host`` or ``https://…``)."""
    text = str(value or "/")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/"
    return text
