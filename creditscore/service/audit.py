"""The append-only audit log: who queried whose credit data, when, why, with what consent and result.

征信业管理条例 art. 22 asks for every query to be recorded; the database refuses to update, delete or replace a
row (triggers), and the rows form a hash chain that ``creditscore audit verify`` checks
(:mod:`creditscore.store.audit_chain`). A full resident ID never enters it: subjects are stored masked, the
decision record inside is masked, and every free-text value (purpose, authorisation, institution, route) is
masked at the edge — an ID typed into a purpose is hidden like any other.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import select

from creditscore.decisions.record import DecisionRecord
from creditscore.records.contracts import SubjectType
from creditscore.records.ids import mask_ids_in_text, mask_resident_id
from creditscore.records.subjects import display_id
from creditscore.service.keys import Caller
from creditscore.store import Store
from creditscore.store.audit_chain import append, decode_decision, encode_decision
from creditscore.store.tables import AUDIT_LOG

__all__ = ["audit_entry", "logged_decision", "mask_subject", "query_audit", "write_audit", "write_audits"]

def mask_subject(subject_id: str | None, subject_type: str | None) -> str | None:
    """A household's resident ID masked; a USCC as it is — and anything that looks personal masked whatever
    route it was sent to (a resident ID sent as a firm's code must not reach the log in full). At most 24
    characters: what a caller typed in place of an identifier is not kept whole."""
    if subject_id is None:
        return None
    if subject_type == SubjectType.HOUSEHOLD.value:
        return mask_resident_id(str(subject_id).strip())[:24]
    return display_id(subject_id)[:24]


def _free(text: str | None) -> str | None:
    """Free text as the log may hold it: every run that could be a resident ID masked."""
    return None if text is None else mask_ids_in_text(str(text))


def audit_entry(*, caller: Caller, request_id: str, route: str, status: int, subject_id: str | None = None,
                subject_type: str | None = None, purpose: str | None = None, authorization_ref: str | None = None,
                decision: DecisionRecord | None = None) -> dict[str, object]:
    """One line of the log, masked, ready for :func:`write_audits`. The decision is stored with its subject masked."""
    if decision is not None:
        subject_id, subject_type = decision.subject_id, decision.segment.subject_type.value
    return {"at": dt.datetime.now(dt.UTC), "request_id": _free(request_id)[:40], "key_prefix": caller.key_prefix,
            "institution": _free(caller.institution), "role": caller.role.value, "route": _free(route),
            "subject_type": subject_type, "subject_masked": mask_subject(subject_id, subject_type),
            "purpose": _free(purpose), "authorization_ref": _free(authorization_ref),
            "model_version": decision.model_version if decision else None,
            "policy_version": decision.policy_version if decision else None,
            "result_grade": decision.final_grade if decision else None, "status": status,
            "decision_z": encode_decision(decision.to_json()) if decision else None}


def write_audits(store: Store, entries: list[dict[str, object]]) -> None:
    """Append lines in one transaction, sealed onto the chain: the service's grades answered together are logged
    together. Returns once they are committed, so a caller that answers only afterwards never answers an unlogged
    query."""
    append(store, entries)


def write_audit(store: Store, *, caller: Caller, request_id: str, route: str, status: int,
                subject_id: str | None = None, subject_type: str | None = None, purpose: str | None = None,
                authorization_ref: str | None = None, decision: DecisionRecord | None = None) -> None:
    """Append one line (see :func:`audit_entry`)."""
    write_audits(store, [audit_entry(caller=caller, request_id=request_id, route=route, status=status,
                                     subject_id=subject_id, subject_type=subject_type, purpose=purpose,
                                     authorization_ref=authorization_ref, decision=decision)])


def logged_decision(store: Store, audit_id: int) -> dict[str, object] | None:
    """The decision record an audit line holds (masked), as JSON data."""
    with store.engine.connect() as conn:
        row = conn.execute(select(AUDIT_LOG.c.decision_z, AUDIT_LOG.c.decision)
                           .where(AUDIT_LOG.c.id == audit_id)).first()
    text = decode_decision(row[0], row[1]) if row is not None else None
    return None if text is None else json.loads(text)


def query_audit(store: Store, *, since: dt.datetime | None = None, subject: str | None = None,
                institution: str | None = None, limit: int = 1000, until: dt.datetime | None = None,
                route: str | None = None) -> pd.DataFrame:
    """Audit lines, newest first, without the decision records (see :func:`logged_decision`)."""
    hidden = {"decision", "decision_z", "prev_hash"}
    stmt = select(*[c for c in AUDIT_LOG.c if c.name not in hidden]).order_by(AUDIT_LOG.c.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(AUDIT_LOG.c.at >= since)
    if subject is not None:
        stmt = stmt.where(AUDIT_LOG.c.subject_masked == subject)
    if institution is not None:
        stmt = stmt.where(AUDIT_LOG.c.institution == institution)
    if until is not None:
        stmt = stmt.where(AUDIT_LOG.c.at < until)
    if route is not None:
        stmt = stmt.where(AUDIT_LOG.c.route == route)
    with store.engine.connect() as conn:
        result = conn.execute(stmt)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
