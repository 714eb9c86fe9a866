"""The append-only audit log: who queried whose credit data, when, why, with what consent and result.

征信业管理条例 art. 22 asks for every query to be recorded; the database refuses
updates and deletions of this table (a trigger). A full resident ID never enters
it: subjects are stored masked, and the decision record inside is masked too.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
from pydantic_core import to_json
from sqlalchemy import insert, select

from creditscore.auth import Caller
from creditscore.errors import InvalidCode
from creditscore.ids import mask_resident_id, validate_uscc
from creditscore.store import Store
from creditscore.store.tables import AUDIT_LOG

__all__ = ["audit_entry", "mask_subject", "query_audit", "write_audit", "write_audits"]

_WRITE_LOCK = threading.Lock()


def mask_subject(subject_id: str | None, subject_type: str | None) -> str | None:
    """A household's resident ID masked; a USCC as it is — and anything that looks personal masked whatever
    route it was sent to (a resident ID sent as a firm's code must not reach the log in full)."""
    if subject_id is None:
        return None
    text = str(subject_id).strip()
    if subject_type == "household":
        return mask_resident_id(text)
    if text[:15].isdigit():  # a resident ID, or a USCC whose organisation code is all digits?
        try:
            validate_uscc(text)
        except InvalidCode:
            return mask_resident_id(text)
    return subject_id


def audit_entry(*, caller: Caller, request_id: str, route: str, status: int, subject_id: str | None = None,
                subject_type: str | None = None, purpose: str | None = None, authorization_ref: str | None = None,
                decision: dict[str, object] | None = None) -> dict[str, object]:
    """One line of the log, masked, ready for :func:`write_audits`. The decision is stored with its subject masked."""
    masked = mask_subject(subject_id, subject_type)
    record = None
    if decision is not None:
        # Strict JSON (a missing value is null, not NaN), in a third of json.dumps's time.
        record = to_json({**decision, "subject_id": masked}, fallback=str, inf_nan_mode="null").decode()
    return {"at": dt.datetime.now(dt.UTC), "request_id": request_id, "key_prefix": caller.key_prefix,
            "institution": caller.institution, "role": caller.role.value, "route": route,
            "subject_type": subject_type, "subject_masked": masked, "purpose": purpose,
            "authorization_ref": authorization_ref, "model_version": (decision or {}).get("model_version"),
            "policy_version": (decision or {}).get("policy_version"),
            "result_grade": (decision or {}).get("final_grade"), "status": status, "decision": record}


def write_audits(store: Store, entries: list[dict[str, object]]) -> None:
    """Append lines in one transaction: the service's grades answered together are logged together.

    Returns once they are committed, so a caller that answers only afterwards never answers an unlogged query.
    """
    if not entries:
        return
    # One writer at a time in this process: SQLite's own busy handler backs off in sleeps of up to 100 ms,
    # which under concurrent requests costs far more than waiting on a lock.
    with _WRITE_LOCK, store.engine.begin() as conn:
        conn.execute(insert(AUDIT_LOG), entries)


def write_audit(store: Store, *, caller: Caller, request_id: str, route: str, status: int,
                subject_id: str | None = None, subject_type: str | None = None, purpose: str | None = None,
                authorization_ref: str | None = None, decision: dict[str, object] | None = None) -> None:
    """Append one line (see :func:`audit_entry`)."""
    write_audits(store, [audit_entry(caller=caller, request_id=request_id, route=route, status=status,
                                     subject_id=subject_id, subject_type=subject_type, purpose=purpose,
                                     authorization_ref=authorization_ref, decision=decision)])


def query_audit(store: Store, *, since: dt.datetime | None = None, subject: str | None = None,
                institution: str | None = None, limit: int = 1000) -> pd.DataFrame:
    stmt = select(*[c for c in AUDIT_LOG.c if c.name != "decision"]).order_by(AUDIT_LOG.c.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(AUDIT_LOG.c.at >= since)
    if subject is not None:
        stmt = stmt.where(AUDIT_LOG.c.subject_masked == subject)
    if institution is not None:
        stmt = stmt.where(AUDIT_LOG.c.institution == institution)
    with store.engine.connect() as conn:
        result = conn.execute(stmt)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
