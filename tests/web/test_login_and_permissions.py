"""Logging in and out, sessions, CSRF, lock-out, and which role may open which page."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from creditscore.service.accounts import MAX_FAILURES
from creditscore.store import Store
from creditscore.store.tables import USERS, WEB_SESSIONS
from tests.web.conftest import PASSWORD, csrf_of, log_in


def test_a_visitor_is_sent_to_the_login_page_and_back_after_it(visitor: TestClient) -> None:
    assert visitor.get("/").headers["location"] == "/login"
    r = visitor.get("/firms?q=abc")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/firms%3Fq%3Dabc"
    page = visitor.get(r.headers["location"])
    assert 'name="next" value="/firms?q=abc"' in page.text
    done = visitor.post("/login", data={"username": "bank", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                        "next": "/firms?q=abc"})
    assert done.status_code == 303
    assert done.headers["location"] == "/firms?q=abc"


def test_the_session_cookie_is_httponly_strict_and_holds_only_a_token(visitor: TestClient, store: Store) -> None:
    r = log_in(visitor, "assessor")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("cs_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with store.engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(WEB_SESSIONS.select())]
    assert token not in stored  # only its hash is kept
    assert r.headers["location"] == "/batches"  # each role lands on its own page


def test_an_offsite_next_is_never_followed(visitor: TestClient) -> None:
    page = visitor.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text
    r = visitor.post("/login", data={"username": "bank", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                     "next": "https://evil.example/"})
    assert r.headers["location"] == "/firms"


def test_the_login_form_needs_its_own_csrf_token(visitor: TestClient) -> None:
    visitor.get("/login")
    r = visitor.post("/login", data={"username": "bank", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "cs_session" not in r.headers.get("set-cookie", "")


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(visitor: TestClient) -> None:
    wrong = log_in(visitor, "bank", "not the password")
    unknown = log_in(visitor, "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text
    assert wrong.text.count("用户名或密码不正确") == unknown.text.count("用户名或密码不正确")


def test_an_account_locks_after_repeated_failures(app, store: Store) -> None:
    from creditscore.service.accounts import create_user
    from creditscore.service.keys import Role

    create_user(store, "locked-out", PASSWORD, role=Role.BANK, institution="某银行")
    c = TestClient(app, follow_redirects=False)
    for _ in range(MAX_FAILURES):
        assert log_in(c, "locked-out", "wrong password").status_code == 401
    assert log_in(c, "locked-out", PASSWORD).status_code == 401  # the right password, but locked
    with store.engine.begin() as conn:  # the lock-out has passed
        conn.execute(update(USERS).where(USERS.c.username == "locked-out")
                     .values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert log_in(c, "locked-out", PASSWORD).status_code == 303


def test_an_idle_session_expires(as_role, store: Store) -> None:
    c = as_role("analyst")
    assert c.get("/admin/models").status_code == 200
    with store.engine.begin() as conn:
        conn.execute(update(WEB_SESSIONS).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)))
    r = c.get("/admin/models")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_logging_out_needs_the_token_and_ends_the_session(as_role) -> None:
    c = as_role("bank")
    page = c.get("/firms")
    assert c.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert c.get("/firms").status_code == 200  # still logged in
    cookie = c.cookies.get("cs_session")
    assert c.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    replay = TestClient(c.app, follow_redirects=False, cookies={"cs_session": cookie})
    assert replay.get("/firms").status_code == 303  # the old cookie opens nothing


def test_a_disabled_user_is_logged_out_at_once(as_role, store: Store) -> None:
    from creditscore.service.accounts import create_user, disable_user
    from creditscore.service.keys import Role

    create_user(store, "leaver", PASSWORD, role=Role.ASSESSOR, institution="某乡")
    c = as_role("leaver")
    assert c.get("/batches").status_code == 200
    disable_user(store, "leaver")
    assert c.get("/batches").status_code == 303
    assert log_in(TestClient(c.app, follow_redirects=False), "leaver").status_code == 401


@pytest.mark.parametrize(("role", "path", "allowed"), [
    ("assessor", "/admin/audit", False), ("assessor", "/admin/users", False), ("assessor", "/firms", False),
    ("assessor", "/households", False), ("assessor", "/batches", True),
    ("bank", "/batches", False), ("bank", "/firms", True), ("bank", "/households", True),
    ("bank", "/admin/audit", False), ("analyst", "/admin/models", True), ("analyst", "/admin/users", False),
    ("analyst", "/firms", False), ("admin", "/admin/audit", True), ("admin", "/admin/users", True),
    ("admin", "/firms", True), ("admin", "/batches", True),
])
def test_each_role_opens_its_own_pages_only(as_role, role: str, path: str, allowed: bool) -> None:
    r = as_role(role).get(path)
    assert r.status_code == (200 if allowed else 403), (role, path, r.status_code)
    if not allowed:
        assert "无权" in r.text or "只有管理员" in r.text


def test_a_bank_cannot_upload_households(as_role) -> None:
    c = as_role("bank")
    csrf = csrf_of(c.get("/firms").text)
    r = c.post("/batches/upload", data={"csrf_token": csrf}, files={"file": ("a.csv", b"x,y\n1,2\n")})
    assert r.status_code == 403


def test_every_form_of_every_page_carries_the_token_and_pages_forbid_scripts_from_elsewhere(as_role) -> None:
    c = as_role("admin")
    for path in ("/firms", "/households", "/batches", "/admin/users", "/admin/audit", "/admin/models"):
        r = c.get(path)
        assert r.status_code == 200, path
        forms = r.text.count("<form method=\"post\"")
        assert r.text.count('name="csrf_token"') >= forms, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "http://" not in r.text.replace("http://www.w3.org", "")  # no CDN, no external font or script
        assert "https://" not in r.text
