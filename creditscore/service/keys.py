"""API keys per institution, stored hashed, with roles; who may call what.

A key is ``cs_`` + 32 random bytes (URL-safe); only its SHA-256 and its first
characters (to recognise it in lists and logs) are stored, so a stolen database
holds no usable key. High-entropy random tokens need no slow password hash.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import insert, select, update

from creditscore.errors import CreditScoreError, InvalidValue
from creditscore.records.ids import mask_ids_in_text
from creditscore.store import Store
from creditscore.store.tables import API_KEYS

__all__ = ["Caller", "NotAuthenticated", "NotPermitted", "Role", "create_key", "list_keys", "revoke_key",
           "verify_key"]

PREFIX_LEN = 10


class Role(enum.StrEnum):
    BANK = "bank"  # grades firms and households (with the person's consent)
    ASSESSOR = "assessor"  # village assessors: households, batch files
    ANALYST = "analyst"  # model information
    ADMIN = "admin"  # keys, audit log, model reload — and everything else


class NotAuthenticated(CreditScoreError, PermissionError):
    """No API key, or one that is unknown or revoked."""


class NotPermitted(CreditScoreError, PermissionError):
    """A valid key whose role may not do this, or a query missing its purpose or the subject's consent."""


@dataclass(frozen=True)
class Caller:
    key_prefix: str
    institution: str
    role: Role

    def require(self, *roles: Role) -> None:
        if self.role is not Role.ADMIN and self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise NotPermitted(f"the {self.role.value} role may not do this (allowed: {allowed}, admin)")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, institution: str, role: Role | str) -> str:
    """Create a key and return it — the only time it is ever shown."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidValue(f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}") from None
    if not institution.strip():
        raise InvalidValue("an API key belongs to an institution: give its name")
    key = "cs_" + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(insert(API_KEYS).values(prefix=key[:PREFIX_LEN], key_hash=_hash(key),
                                             institution=mask_ids_in_text(institution.strip())[:200],
                                             role=role.value, created_at=dt.datetime.now(dt.UTC)))
    return key


def verify_key(store: Store, key: str | None) -> Caller:
    """The caller a key belongs to; raises :class:`NotAuthenticated` for a missing, unknown or revoked key.

    Read from the store on every request, so a revocation takes effect at once in every worker — through the
    driver with SQL written once (16 µs against 90 µs for the same SELECT built by SQLAlchemy each time).
    """
    if not key:
        raise NotAuthenticated("missing API key: send it in the X-API-Key header")
    mark = "?" if store.dialect == "sqlite" else "%s"
    with store.reader.connect() as conn:  # on PostgreSQL, no BEGIN / ROLLBACK round trips around the one SELECT
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(f"SELECT prefix, institution, role, revoked_at FROM {API_KEYS.name} "
                           f"WHERE key_hash = {mark}", (_hash(key),))
            row = cursor.fetchone()
        finally:
            cursor.close()
    if row is None:
        raise NotAuthenticated("unknown API key")
    prefix, institution, role, revoked_at = row
    if revoked_at is not None:
        raise NotAuthenticated(f"API key {prefix}… was revoked on {str(revoked_at)[:10]}")
    return Caller(key_prefix=prefix, institution=institution, role=Role(role))


def revoke_key(store: Store, prefix: str) -> int:
    """Revoke the key(s) starting with ``prefix``; returns how many."""
    if len(prefix) < 6:
        raise InvalidValue(f"give at least the first 6 characters of the key (as `apikey list` shows them), "
                           f"not {len(prefix)}")
    with store.engine.begin() as conn:
        result = conn.execute(update(API_KEYS).where(API_KEYS.c.prefix.startswith(prefix[:PREFIX_LEN]),
                                                     API_KEYS.c.revoked_at.is_(None))
                              .values(revoked_at=dt.datetime.now(dt.UTC)))
        return result.rowcount


def list_keys(store: Store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(select(API_KEYS.c.prefix, API_KEYS.c.institution, API_KEYS.c.role,
                                   API_KEYS.c.created_at, API_KEYS.c.revoked_at)).all()
    return pd.DataFrame(rows, columns=["prefix", "institution", "role", "created_at", "revoked_at"])
