"""Objections (异议处理, 征信业管理条例 art. 25): file, flag at once, answer within 20 days.

A subject (or a bank on its behalf) objects to one record. From the day it is
filed the record is handled by the policy's rule (left out of the subject's
indicators by default) until the objection is answered:

* **upheld** — the record was wrong: it is corrected (given fields changed) or
  removed from the store, and the change is written in the objection's row;
* **rejected** — the record stands and counts again.

Who answered and when is recorded. Objections not answered within the policy's
deadline are listed as overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from creditscore.errors import CreditScoreError, InvalidRecord
from creditscore.policy import Policy, load_policy
from creditscore.records.contracts import KINDS, FieldType, get_kind
from creditscore.records.ids import mask_ids_in_text
from creditscore.records.parsing import parse_field
from creditscore.store import Store
from creditscore.store.tables import record_table

__all__ = ["ObjectionError", "UnknownObjection", "file_objection", "list_objections", "resolve_objection"]


class ObjectionError(CreditScoreError, ValueError):
    """An objection that cannot be filed or answered as asked."""


class UnknownObjection(ObjectionError, LookupError):
    """No such objection, or no such record to object to."""


@dataclass(frozen=True)
class Filed:
    id: int
    target_kind: str
    target_key: str
    filed_on: dt.date
    deadline: dt.date


def _objection_key(kind: str, key: str, filed_on: dt.date) -> str:
    return f"{kind}|{key}|{filed_on.isoformat()}"


def file_objection(store: Store, kind: str, record_key: str, *, filed_by: str, reason: str,
                   filed_on: dt.date | None = None, policy: Policy | None = None) -> Filed:
    """Flag a stored record as objected to; it stops counting from ``filed_on`` (today by default)."""
    policy = policy or load_policy()
    k = get_kind(kind)
    if k.is_subject_table or k.name == "objections":
        raise ObjectionError(f"objections are against credit records, not {k.name}")
    filed_on = filed_on or dt.date.today()
    table, obj = record_table(k), record_table("objections")
    with store.engine.begin() as conn:
        found = conn.execute(select(table.c.id).where(table.c.record_key == record_key)).first()
        if found is None:
            raise UnknownObjection(f"no {k.name} record with key {record_key!r} in the store")
        open_ = conn.execute(select(obj.c.id).where(obj.c.target_kind == k.name, obj.c.target_key == record_key,
                                                    obj.c.status == "pending")).first()
        if open_ is not None:
            raise ObjectionError(f"record {record_key!r} already has a pending objection (id {open_.id})")
        key = _objection_key(k.name, record_key, filed_on)
        earlier = conn.execute(select(func.count()).select_from(obj).where(
            obj.c.record_key.startswith(key, autoescape=True))).scalar_one()
        if earlier:  # objected to and answered already today: a new objection is a new record
            key = f"{key}#{earlier + 1}"
        result = conn.execute(insert(obj).values(
            record_key=key, target_kind=k.name, target_key=record_key,
            filed_on=filed_on, filed_by=mask_ids_in_text(filed_by), reason=mask_ids_in_text(reason), status="pending",
            ingested_at=dt.datetime.now(dt.UTC), source="objection"))
        new_id = int(result.inserted_primary_key[0])
    return Filed(new_id, k.name, record_key, filed_on,
                 filed_on + dt.timedelta(days=policy.objections.answer_within_days))


def resolve_objection(store: Store, objection_id: int, *, upheld: bool, resolved_by: str,
                      resolved_on: dt.date | None = None, remove: bool = False,
                      corrections: dict[str, str] | None = None) -> str:
    """Answer an objection. Upheld: correct the record (``corrections``, as text like an export's) or remove it.

    Returns what was done, in words (also written to the objection's ``resolved_by`` trail).
    """
    resolved_on = resolved_on or dt.date.today()
    if not 0 < objection_id < 2**63:
        raise UnknownObjection(f"no objection with id {objection_id}")
    obj = record_table("objections")
    with store.engine.begin() as conn:
        row = conn.execute(select(obj).where(obj.c.id == objection_id)).first()
        if row is None:
            raise UnknownObjection(f"no objection with id {objection_id}")
        if row.status != "pending":
            raise ObjectionError(f"objection {objection_id} was already answered ({row.status} on {row.resolved_on})")
        if resolved_on < row.filed_on:
            raise ObjectionError(f"an objection cannot be answered ({resolved_on}) before it was filed "
                                 f"({row.filed_on})")
        kind = KINDS[row.target_kind]
        table = record_table(kind)
        action = "rejected: the record stands"
        if upheld:
            if remove == bool(corrections):
                raise ObjectionError("an upheld objection either removes the record or corrects it (not both)")
            if remove:
                conn.execute(delete(table).where(table.c.record_key == row.target_key))
                action = "upheld: record removed"
            else:
                values = _corrected_values(kind.name, corrections or {})
                conn.execute(update(table).where(table.c.record_key == row.target_key).values(**values))
                action = "upheld: record corrected (" + ", ".join(f"{k}={v}" for k, v in corrections.items()) + ")"
        conn.execute(update(obj).where(obj.c.id == objection_id).values(
            status="upheld" if upheld else "rejected", resolved_on=resolved_on,
            resolved_by=mask_ids_in_text(f"{resolved_by} — {action}")[:200]))
    return action


def _corrected_values(kind: str, corrections: dict[str, str]) -> dict[str, object]:
    """Validate corrections with the record's own contract (money in yuan, dates as text, …)."""
    k = KINDS[kind]
    protected = set(k.key) | {k.subject_column}
    bad = sorted(set(corrections) & protected)
    if bad:
        raise ObjectionError(f"{kind}: {bad} identify the record and cannot be corrected; remove it instead")
    unknown = sorted(set(corrections) - {f.name for f in k.fields})
    if unknown:
        raise ObjectionError(f"{kind} has no field(s) {unknown}")
    out: dict[str, object] = {}
    for name, text in corrections.items():
        f = k.get_field(name)
        values, reason = parse_field(f, pd.Series([text], dtype="string"))
        if reason.notna().iloc[0]:
            raise InvalidRecord(f"{kind}.{name} = {text!r}: {reason.iloc[0]}")
        value = values.iloc[0]
        if pd.isna(value):
            out[name] = None
        elif f.type in (FieldType.DATE, FieldType.MONTH):
            out[name] = pd.Timestamp(value).date()
        elif f.type in (FieldType.MONEY, FieldType.INT, FieldType.YEAR):
            out[name] = int(value)
        elif f.type is FieldType.DECIMAL:
            out[name] = float(value)
        else:
            out[name] = str(value)
    return out


def list_objections(store: Store, *, overdue_on: dt.date | None = None,
                    policy: Policy | None = None) -> pd.DataFrame:
    """All objections with their deadline; with ``overdue_on``, only those still pending past it."""
    policy = policy or load_policy()
    frame = store.records("objections")
    obj = record_table("objections")
    with store.engine.connect() as conn:
        ids = pd.DataFrame(conn.execute(select(obj.c.id, obj.c.record_key)).all(), columns=["id", "record_key"])
    frame = frame.merge(ids, on="record_key", how="left")
    frame["deadline"] = frame["filed_on"] + pd.Timedelta(days=policy.objections.answer_within_days)
    if overdue_on is not None:
        frame = frame[(frame["status"] == "pending") & (frame["deadline"] < pd.Timestamp(overdue_on))]
    return frame.sort_values(["filed_on", "id"]).reset_index(drop=True)
