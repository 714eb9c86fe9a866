"""People who use the web pages: accounts per institution, argon2id passwords, lock-out, server-side sessions.

The web pages act with the same roles as the API keys (:class:`~creditscore.service.keys.Role`), and every
subject they touch is audited like an API call, with the user in the audit line (``key_prefix`` = ``u<id>:<name>``).

Sessions live in the store, not in a signed cookie: logging out, disabling a user or the end of a session takes
effect at once in every worker, and the cookie holds only a random token whose SHA-256 is stored (a stolen
database opens no session). A session ends after ``IDLE`` without a request and at ``LIFETIME`` in any case.
Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended option); after
``MAX_FAILURES`` wrong passwords in a row the account is locked for ``LOCKOUT``, and the answer to a locked
account, an unknown name or a wrong password is the same sentence, so the login page tells nobody which
names exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update

from creditscore.errors import CreditScoreError, InvalidValue
from creditscore.records.ids import mask_ids_in_text
from creditscore.service.keys import Caller, NotAuthenticated, Role
from creditscore.store import Store
from creditscore.store.tables import USERS, WEB_SESSIONS

__all__ = ["IDLE", "LIFETIME", "LOCKOUT", "MAX_FAILURES", "LoginFailed", "Session", "User", "authenticate",
           "close_session", "create_user", "disable_user", "list_users", "open_session", "session_for", "set_password"]

IDLE = dt.timedelta(minutes=30)
LIFETIME = dt.timedelta(hours=12)
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_hasher = PasswordHasher()
# A hash to verify against when the name is unknown: the answer takes as long as for a real account.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class LoginFailed(CreditScoreError, PermissionError):
    """Wrong name or password, a locked or a disabled account: one message for all, on purpose."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    institution: str
    role: Role

    @property
    def caller(self) -> Caller:
        """The user as the service's callers are known: the audit log writes ``u<id>:<name>`` as the key.

        The id comes first so that two long names sharing their first letters never share a caller (batch jobs
        and saved column mappings belong to the caller): the column holds 16 characters."""
        return Caller(key_prefix=f"u{self.id}:{self.username}"[:16], institution=self.institution, role=self.role)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back; they were written in UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(store: Store, username: str, password: str, *, role: Role | str, institution: str,
                display_name: str | None = None) -> User:
    """Create an account; raises :class:`InvalidValue` naming what to change."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidValue("a user name is 3–64 lower-case letters, digits, dots, dashes or underscores, "
                           f"starting with a letter or digit; not {username!r}")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidValue(f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}") from None
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"a password needs at least {MIN_PASSWORD} characters")
    if not institution.strip():
        raise InvalidValue("a user belongs to an institution: give its name")
    with store.engine.begin() as conn:
        if conn.execute(select(USERS.c.id).where(USERS.c.username == username)).first() is not None:
            raise InvalidValue(f"there is already a user called {username!r}")
        result = conn.execute(insert(USERS).values(
            username=username, display_name=mask_ids_in_text((display_name or username).strip())[:100],
            institution=mask_ids_in_text(institution.strip())[:200], role=role.value,
            password_hash=_hasher.hash(password), failed_logins=0, created_at=_now()))
        user_id = result.inserted_primary_key[0]
    return User(user_id, username, display_name or username, institution.strip(), role)


def set_password(store: Store, username: str, password: str) -> None:
    """Set a user's password (and unlock the account); raises :class:`InvalidValue` for an unknown user."""
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"a password needs at least {MIN_PASSWORD} characters")
    with store.engine.begin() as conn:
        result = conn.execute(update(USERS).where(USERS.c.username == username.strip().lower()).values(
            password_hash=_hasher.hash(password), failed_logins=0, locked_until=None))
        if result.rowcount == 0:
            raise InvalidValue(f"no user called {username!r}")


def disable_user(store: Store, username: str) -> None:
    """Disable an account and end its sessions at once."""
    with store.engine.begin() as conn:
        row = conn.execute(select(USERS.c.id).where(USERS.c.username == username.strip().lower())).first()
        if row is None:
            raise InvalidValue(f"no user called {username!r}")
        conn.execute(update(USERS).where(USERS.c.id == row.id).values(disabled_at=_now()))
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.user_id == row.id))


def list_users(store: Store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(select(USERS.c.username, USERS.c.display_name, USERS.c.institution, USERS.c.role,
                                   USERS.c.created_at, USERS.c.disabled_at, USERS.c.locked_until)
                            .order_by(USERS.c.institution, USERS.c.username)).all()
    return pd.DataFrame(rows, columns=["username", "display_name", "institution", "role", "created_at",
                                       "disabled_at", "locked_until"])


def _user(row: object) -> User:
    return User(row.id, row.username, row.display_name, row.institution, Role(row.role))


def authenticate(store: Store, username: str, password: str) -> User:
    """The user for a name and password; raises :class:`LoginFailed` (one message whatever the cause)."""
    failed = LoginFailed("用户名或密码不正确，或账号已锁定（连续输错5次锁定15分钟）— wrong user name or password, "
                         "or the account is locked (15 minutes after 5 failures)")
    ok = False
    with store.engine.begin() as conn:  # the failure is counted whatever happens: raised only once committed
        row = conn.execute(select(USERS).where(USERS.c.username == username.strip().lower())).first()
        now = _now()
        locked = _aware(row.locked_until) if row is not None else None
        if row is None or row.disabled_at is not None or (locked is not None and locked > now):
            _verify(_DUMMY, password)  # as slow as a real check: the answer's time tells nothing either
        elif not _verify(row.password_hash, password):
            failures = (row.failed_logins or 0) + 1
            conn.execute(update(USERS).where(USERS.c.id == row.id).values(
                failed_logins=0 if failures >= MAX_FAILURES else failures,
                locked_until=now + LOCKOUT if failures >= MAX_FAILURES else row.locked_until))
        else:
            ok = True
            values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(update(USERS).where(USERS.c.id == row.id).values(**values))
    if not ok:
        raise failed
    return _user(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def open_session(store: Store, user: User) -> tuple[str, Session]:
    """A new session for ``user``: (the cookie's token — shown only here, the session)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session = Session(user, secrets.token_urlsafe(32), now + LIFETIME)
    with store.engine.begin() as conn:
        conn.execute(insert(WEB_SESSIONS).values(token_hash=_hash_token(token), user_id=user.id,
                                                 csrf_token=session.csrf_token, created_at=now, last_seen_at=now,
                                                 expires_at=session.expires_at))
        # a user's ended sessions are swept as they log in: the table holds live sessions only
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.user_id == user.id,
                                                WEB_SESSIONS.c.expires_at < now))
    return token, session


def session_for(store: Store, token: str | None) -> Session:
    """The live session a cookie's token opens; raises :class:`NotAuthenticated` when there is none."""
    if not token:
        raise NotAuthenticated("请先登录 — please log in")
    now = _now()
    key = _hash_token(token)
    with store.engine.begin() as conn:
        row = conn.execute(select(WEB_SESSIONS, USERS).join(USERS, USERS.c.id == WEB_SESSIONS.c.user_id)
                           .where(WEB_SESSIONS.c.token_hash == key)).first()
        if row is None:
            raise NotAuthenticated("请先登录 — please log in")
        if (row.disabled_at is not None or _aware(row.expires_at) <= now
                or _aware(row.last_seen_at) + IDLE <= now):
            conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.token_hash == key))
            raise NotAuthenticated("会话已过期，请重新登录 — the session has ended: please log in again")
        conn.execute(update(WEB_SESSIONS).where(WEB_SESSIONS.c.token_hash == key).values(last_seen_at=now))
    return Session(_user(row), row.csrf_token, _aware(row.expires_at))


def close_session(store: Store, token: str | None) -> None:
    if token:
        with store.engine.begin() as conn:
            conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.token_hash == _hash_token(token)))
