"""The append-only audit log: who queried whose credit data, when, why, with what consent and result.

征信业管理条例 art. 22 asks for every query to be recorded; the database refuses
updates and deletions of this table (a trigger). A full resident ID never enters
it: subjects are stored masked, and the decision record inside is masked too.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
from sqlalchemy import insert, select

from creditscore.decisions.record import DecisionRecord
from creditscore.records.contracts import SubjectType
from creditscore.records.ids import mask_resident_id
from creditscore.records.subjects import display_id
from creditscore.service.keys import Caller
from creditscore.store import Store
from creditscore.store.tables import AUDIT_LOG

__all__ = ["audit_entry", "mask_subject", "query_audit", "write_audit", "write_audits"]

_WRITE_LOCK = threading.Lock()


def mask_subject(subject_id: str | None, subject_type: str | None) -> str | None:
    """A household's resident ID masked; a USCC as it is — and anything that looks personal masked whatever
    route it was sent to (a resident ID sent as a firm's code must not reach the log in full)."""
    if subject_id is None:
        return None
    if subject_type == SubjectType.HOUSEHOLD.value:
        return mask_resident_id(str(subject_id).strip())
    return display_id(subject_id)


def audit_entry(*, caller: Caller, request_id: str, route: str, status: int, subject_id: str | None = None,
                subject_type: str | None = None, purpose: str | None = None, authorization_ref: str | None = None,
                decision: DecisionRecord | None = None) -> dict[str, object]:
    """One line of the log, masked, ready for :func:`write_audits`. The decision is stored with its subject masked."""
    if decision is not None:
        subject_id, subject_type = decision.subject_id, decision.segment.subject_type.value
    return {"at": dt.datetime.now(dt.UTC), "request_id": request_id, "key_prefix": caller.key_prefix,
            "institution": caller.institution, "role": caller.role.value, "route": route,
            "subject_type": subject_type, "subject_masked": mask_subject(subject_id, subject_type),
            "purpose": purpose, "authorization_ref": authorization_ref,
            "model_version": decision.model_version if decision else None,
            "policy_version": decision.policy_version if decision else None,
            "result_grade": decision.final_grade if decision else None, "status": status,
            "decision": decision.to_json() if decision else None}


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
                authorization_ref: str | None = None, decision: DecisionRecord | None = None) -> None:
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
