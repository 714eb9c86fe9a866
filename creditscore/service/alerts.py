"""Early warning (失信风险预警): banks watch their borrowers and are told when their risk changes.

**Watches** belong to an institution: a firm by its code, a household only with a purpose, the reference of
the person's authorisation and an expiry (watching a person is a standing query of their data). A household's
ID stays in the subject table: a watch points at the household's row there. Creating a watch is audited and
takes a baseline — what is on record then is the starting point, not an alert.

**Rules** are data (``models/alerts.yaml``), validated on load. **Detection** runs where the data changes: after
an ingest, only for the watched subjects the ingest touched; after a model promotion, for everyone watched (their
grades may move); and in a nightly sweep (a record that starts counting on a date). Each alert is raised once:
its ``dedupe_key`` names the watch, the rule and the fact, and re-ingesting the same file finds nothing new. A
fact that goes away — a listing removed, a record corrected, arrears paid — raises a clearing alert.

**Delivery**: the append-only ``alerts`` table read through a pull feed whose cursor is assigned in commit order
(under one lock, as the audit chain is), so a reader polling while ingests commit never skips or repeats an
alert; optional webhooks, signed per the Standard Webhooks specification, pushed from an outbox with retries
until delivered, with thin payloads (no personal data in a bank's logs).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import bindparam, insert, select, update

from creditscore.config import load_yaml_model
from creditscore.errors import CreditScoreError, InvalidValue, UnknownSubject
from creditscore.features.columns import day_number
from creditscore.records.contracts import KINDS
from creditscore.records.ids import mask_ids_in_text, mask_resident_id
from creditscore.records.subjects import Segment, identify
from creditscore.resources import MODELS_DIR
from creditscore.service.audit import write_audit
from creditscore.service.keys import Caller, NotPermitted, Role
from creditscore.store import Store
from creditscore.store.tables import ALERT_ACTIONS, ALERTS, WATCHES, WEBHOOK_OUTBOX, WEBHOOKS, record_table

__all__ = ["AlertRules", "add_watch", "after_ingest", "deliver_due", "evaluate_watches", "feed", "list_watches",
           "load_rules", "remove_watch", "set_webhook", "sign", "sweep"]

SEVERITY_ZH = {"red": "红", "orange": "橙", "yellow": "黄"}


@functools.cache
def _tax_order() -> list[str]:
    """Tax credit grades best first, as the catalogue encodes them (one source: features/sme.yaml)."""
    from creditscore.features import load_catalogue

    encode = load_catalogue("sme").by_id["tax_grade_latest"].compute.encode or {}
    return [grade for grade, _ in sorted(encode.items(), key=lambda item: item[1])]
#: Delays before each retry of a webhook, after the Standard Webhooks guidance (then every 10 hours, for 3 days).
BACKOFF = [dt.timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000)]
GIVE_UP_AFTER = dt.timedelta(days=3)
#: Watched subjects evaluated together: one query per record kind and one grading pass for each chunk.
CHUNK = 2000


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind_of_rule: Literal["new_record", "arrears_months", "tax_grade_drop", "grade_drop", "pd_rise"]
    severity: Literal["red", "orange", "yellow"]
    zh: str
    en: str
    kind: str | None = None
    field: str | None = None
    severities: list[str] | None = None
    list_types: list[str] | None = None
    months: int | None = Field(None, ge=1)
    notches: int | None = Field(None, ge=1)
    factor: float | None = Field(None, gt=1)

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        needs_kind = self.kind_of_rule in ("new_record", "arrears_months")
        if needs_kind and (self.kind not in KINDS):
            raise ValueError(f"rule {self.id}: kind must be a record kind, not {self.kind!r}")
        if self.field and self.field not in {f.name for f in KINDS[self.kind].fields}:
            raise ValueError(f"rule {self.id}: {self.kind} has no field {self.field!r}")
        required = {"arrears_months": "months", "grade_drop": "notches", "pd_rise": "factor"}.get(self.kind_of_rule)
        if required and getattr(self, required) is None:
            raise ValueError(f"rule {self.id}: a {self.kind_of_rule} rule needs {required}")
        return self


class AlertRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> AlertRules:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("alert rule ids must be unique")
        return self


def load_rules(path: str | Path | None = None) -> AlertRules:
    """``models/alerts.yaml``, validated; errors name the file, line and key."""
    return load_yaml_model(Path(path or MODELS_DIR / "alerts.yaml"), AlertRules)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- watches ------------------------------------------------------------------------------------------------------


def _household_row(store: Store, head_id: str) -> int:
    table = record_table("households")
    with store.engine.connect() as conn:
        row = conn.execute(select(table.c.id).where(table.c.head_id == head_id).limit(1)).first()
    if row is None:
        raise UnknownSubject(f"no household with head {mask_resident_id(head_id)} in the store")
    return int(row.id)


def add_watch(service: object, caller: Caller, subject: str, *, purpose: str, authorization_ref: str | None = None,
              grade_floor: str | None = None, expires_on: dt.date | None = None, request_id: str = "",
              as_of: dt.date | None = None) -> int:
    """Watch a subject for ``caller``'s institution; returns the watch id. Audited; the baseline is taken now."""
    caller.require(Role.BANK)
    store: Store = service.store
    subject_id, segment = identify(subject)
    if not purpose or len(purpose.strip()) < 2:
        raise NotPermitted("a watch needs its purpose (e.g. loan_monitoring)")
    if segment is Segment.HOUSEHOLD:
        if not authorization_ref or len(authorization_ref.strip()) < 4:
            raise NotPermitted("watching a person is a standing query of their data: send authorization_ref, the "
                               "reference of their signed consent")
        if expires_on is None:
            raise NotPermitted("a household's watch needs an expiry (expires_on), e.g. the loan's maturity")
    scale = service.models.scorer(segment).scale.names
    if grade_floor is not None and grade_floor not in scale:
        raise InvalidValue(f"grade floor {grade_floor!r} is not a grade of the {segment.value} scale "
                           f"({', '.join(scale)})")
    if expires_on is not None and expires_on < dt.date.today():
        raise InvalidValue(f"the expiry {expires_on} has passed")
    record = service.grade(subject_id, as_of=as_of, expected=segment)  # the subject must exist: UnknownSubject
    values = {"institution": caller.institution, "segment": segment.value, "purpose": mask_ids_in_text(purpose)[:200],
              "authorization_ref": mask_ids_in_text(authorization_ref)[:200] if authorization_ref else None,
              "grade_floor": grade_floor, "expires_on": expires_on, "created_at": _now(),
              "created_by": caller.key_prefix, "subject_masked": segment.display(subject_id)[:24]}
    if segment is Segment.SME:
        values["uscc"] = subject_id
    else:
        values["household_row"] = _household_row(store, subject_id)
    with store.engine.begin() as conn:
        watch_id = int(conn.execute(insert(WATCHES).values(**values)).inserted_primary_key[0])
    state = _facts(service, subject_id, segment, as_of or dt.date.today(), record=record)
    with store.engine.begin() as conn:
        conn.execute(update(WATCHES).where(WATCHES.c.id == watch_id).values(state=json.dumps(state)))
    write_audit(store, caller=caller, request_id=request_id or "watch", route="watch_add", status=200,
                subject_id=subject_id, subject_type=segment.subject_type.value, purpose=purpose,
                authorization_ref=authorization_ref, decision=record)
    return watch_id


def add_watches(service: object, caller: Caller, subjects: list[str], *, purpose: str,
                expires_on: dt.date | None = None, request_id: str = "") -> tuple[list[int], list[str]]:
    """A bank's portfolio of firms watched at once: one baseline pass, one audit append. Returns (watch ids, one
    sentence per subject refused). Households are watched one by one (each needs its own consent)."""
    from creditscore.service.audit import audit_entry, write_audits

    caller.require(Role.BANK)
    if not purpose or len(purpose.strip()) < 2:
        raise NotPermitted("a watch needs its purpose (e.g. loan_monitoring)")
    firms, refused = [], []
    for subject in subjects:
        try:
            subject_id, segment = identify(subject)
        except CreditScoreError as exc:
            refused.append(mask_ids_in_text(f"{subject}: {exc}"))
            continue
        if segment is not Segment.SME:
            refused.append(f"{segment.display(subject_id)}: a household is watched on its own, with its consent")
            continue
        firms.append(subject_id)
    firms = list(dict.fromkeys(firms))
    today = dt.date.today()
    ids: list[int] = []
    entries = []
    for i in range(0, len(firms), CHUNK):
        part = firms[i:i + CHUNK]
        facts = _facts_many(service, [(f, Segment.SME) for f in part], today)
        known = [f for f in part if isinstance(facts.get(f), dict)]
        refused += [f"{f}: {facts[f]}" for f in part if not isinstance(facts.get(f), dict)]
        now = _now()
        with service.store.engine.begin() as conn:
            for f in known:
                ids.append(int(conn.execute(insert(WATCHES).values(
                    institution=caller.institution, segment="sme", uscc=f, subject_masked=f,
                    purpose=mask_ids_in_text(purpose)[:200], expires_on=expires_on, created_at=now,
                    created_by=caller.key_prefix,
                    state=json.dumps({**facts[f], "as_of": today.isoformat()}))).inserted_primary_key[0]))
        entries += [audit_entry(caller=caller, request_id=request_id or "watch", route="watch_add", status=200,
                                subject_id=f, subject_type="enterprise", purpose=purpose) for f in known]
    write_audits(service.store, entries)
    return ids, refused


def remove_watch(store: Store, caller: Caller, watch_id: int) -> None:
    if not 0 < watch_id < 2**31:
        raise UnknownSubject(f"no watch {watch_id} of {caller.institution}")
    with store.engine.begin() as conn:
        result = conn.execute(update(WATCHES).where(WATCHES.c.id == watch_id,
                                                    WATCHES.c.institution == caller.institution,
                                                    WATCHES.c.removed_at.is_(None)).values(removed_at=_now()))
    if result.rowcount == 0:
        raise UnknownSubject(f"no watch {watch_id} of {caller.institution}")


def list_watches(store: Store, institution: str | None = None) -> pd.DataFrame:
    cols = [WATCHES.c.id, WATCHES.c.institution, WATCHES.c.segment, WATCHES.c.subject_masked, WATCHES.c.purpose,
            WATCHES.c.grade_floor, WATCHES.c.expires_on, WATCHES.c.created_at, WATCHES.c.removed_at]
    stmt = select(*cols).order_by(WATCHES.c.id)
    if institution is not None:
        stmt = stmt.where(WATCHES.c.institution == institution)
    with store.engine.connect() as conn:
        result = conn.execute(stmt)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@dataclass(frozen=True)
class Watch:
    id: int
    institution: str
    segment: Segment
    subject_id: str
    subject_masked: str
    grade_floor: str | None
    state: dict


def _active(store: Store, today: dt.date, *, uscc: Iterable[str] | None = None,
            heads: Iterable[str] | None = None) -> list[Watch]:
    """Active watches (not removed, not expired) — of the given subjects only, when given."""
    households = record_table("households")
    stmt = (select(WATCHES, households.c.head_id)
            .outerjoin(households, households.c.id == WATCHES.c.household_row)
            .where(WATCHES.c.removed_at.is_(None)))
    out: list[Watch] = []
    chunks: list[object] = [None]
    if uscc is not None or heads is not None:
        ids_f, ids_h = list(uscc or []), list(heads or [])
        chunks = [("f", ids_f[i:i + 500]) for i in range(0, len(ids_f), 500)] + \
                 [("h", ids_h[i:i + 500]) for i in range(0, len(ids_h), 500)]
    with store.engine.connect() as conn:
        for chunk in chunks:
            q = stmt
            if chunk is not None:
                which, ids = chunk
                q = q.where(WATCHES.c.uscc.in_(ids)) if which == "f" else q.where(households.c.head_id.in_(ids))
            for row in conn.execute(q):
                expires = row.expires_on
                if expires is not None and expires < today:
                    continue  # an expired watch raises nothing
                out.append(Watch(row.id, row.institution, Segment.of(row.segment),
                                 row.uscc if row.segment == "sme" else row.head_id, row.subject_masked,
                                 row.grade_floor, json.loads(row.state or "{}")))
    return out


# --- facts and rules ----------------------------------------------------------------------------------------------


def _days(values: pd.Series) -> np.ndarray:
    """Day numbers (since 1970-01-01) of a column of dates or months; NaN where empty."""
    stamps = pd.to_datetime(values.astype("string"), errors="coerce")
    return ((stamps - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=float, na_value=np.nan)


def _facts(service: object, subject_id: str, segment: Segment, as_of: dt.date, *, record: object = None,
           rules: AlertRules | None = None) -> dict:
    """What the rules look at, for one subject as of a date (see :func:`_facts_many`)."""
    facts = _facts_many(service, [(subject_id, segment)], as_of, rules=rules,
                        records={subject_id: record} if record is not None else None)
    found = facts.get(subject_id)
    if isinstance(found, CreditScoreError):
        raise found
    return found


def _facts_many(service: object, subjects: list[tuple[str, Segment]], as_of: dt.date, *,
                rules: AlertRules | None = None, records: dict[str, object] | None = None) -> dict[str, object]:
    """Facts of many subjects at once — open records by rule, arrears months, tax grade, grade and PD — from one
    query per record kind and one grading pass (a daily feed touches tens of thousands of watched subjects:
    subject by subject would cost a query per kind each). A subject the store cannot grade maps to its error."""
    from creditscore.service.grading import GradeQuery

    rules = rules or load_rules()
    t = day_number(as_of)
    ids = [s for s, _ in subjects]
    graded = dict(records or {})
    missing = [(s, seg) for s, seg in subjects if s not in graded]
    answers = service.grade_many([GradeQuery(s, as_of, seg) for s, seg in missing]) if missing else []
    graded.update({s: a for (s, _), a in zip(missing, answers, strict=True)})
    # each rule's facts for every subject at once, vectorised over the kind's records: per subject, pandas
    # would cost more than the grading (measured: 95 % of the time)
    by_rule: dict[str, dict[str, object]] = {}
    frames = {kind: service.store.records(kind, subjects=ids) for kind in {r.kind for r in rules.rules if r.kind}}
    for rule in rules.rules:
        if rule.kind_of_rule not in ("new_record", "arrears_months"):
            continue
        kind = KINDS[rule.kind]
        frame = frames[rule.kind]
        if not len(frame):
            by_rule[rule.id] = {}
            continue
        subject_of = frame[kind.subject_column].astype(str)
        # known at t: happened by then, and published by then when the record says when (a record that starts
        # counting on its publication day is the sweep's to find, on that day)
        published = ~(_days(frame["published_on"]) > t) if kind.has_published_on else np.ones(len(frame), bool)
        if rule.kind_of_rule == "arrears_months":
            unpaid = (_days(frame["month"]) <= t) & ~(_days(frame["paid_on"]) <= t) & published
            by_rule[rule.id] = subject_of[unpaid].value_counts().to_dict()
            continue
        keep = (_days(frame[kind.event_date]) <= t) & published
        if rule.field:
            keep &= _days(frame[rule.field]) <= t
        if rule.severities:
            keep &= frame["severity"].astype(str).isin(rule.severities).to_numpy()
        if rule.list_types:
            keep &= frame["list_type"].astype(str).isin(rule.list_types).to_numpy()
        for ended in ("removed_on", "exited_on", "delisted_on", "repaired_on"):
            if ended in frame and (rule.field is None or ended == "delisted_on"):
                keep &= ~(_days(frame[ended]) <= t)
        chosen = pd.DataFrame({"s": subject_of[keep], "k": frame["record_key"].astype(str)[keep]})
        by_rule[rule.id] = {s: sorted(g) for s, g in chosen.groupby("s")["k"]}
    out: dict[str, object] = {}
    for subject, segment in subjects:
        record = graded.get(subject)
        if isinstance(record, CreditScoreError) or record is None:
            out[subject] = record if isinstance(record, CreditScoreError) else UnknownSubject(subject)
            continue
        facts: dict[str, object] = {"grade": record.final_grade, "pd": record.pd, "open": {}, "months": {}}
        for rule in rules.rules:
            if rule.kind_of_rule == "new_record":
                facts["open"][rule.id] = list(by_rule[rule.id].get(subject, []))
            elif rule.kind_of_rule == "arrears_months":
                facts["months"][rule.id] = int(by_rule[rule.id].get(subject, 0))
        if segment is Segment.SME:
            facts["tax_grade"] = record.tax_grade
        out[subject] = facts
    return out


def _text(rule: Rule, **values: object) -> tuple[str, str]:
    def fill(template: str) -> str:
        out = template
        for k, v in values.items():
            out = out.replace("{" + k + "}", str(v))
        return out

    return mask_ids_in_text(fill(rule.zh)), mask_ids_in_text(fill(rule.en))


def _short_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _changes(watch: Watch, before: dict, now: dict, rules: AlertRules, grades: list[str]) -> list[dict]:
    """The alerts one watch's facts moving from ``before`` to ``now`` raise (none without a baseline)."""
    if not before:
        return []
    out: list[dict] = []

    def alert(rule: Rule, fact: str, *, clearing: bool = False, **values: object) -> None:
        zh, en = _text(rule, **values)
        if clearing:
            zh, en = f"已解除：{zh}", f"cleared: {en}"
        out.append({"rule": rule.id, "severity": "yellow" if clearing else rule.severity, "clearing": int(clearing),
                    "text_zh": zh, "text_en": en,
                    "dedupe_key": f"{watch.id}:{rule.id}:{'clear' if clearing else 'raise'}:{fact}"[:300]})

    for rule in rules.rules:
        if rule.kind_of_rule == "new_record":
            seen, current = set(before["open"].get(rule.id, [])), set(now["open"].get(rule.id, []))
            for key in sorted(current - seen):
                alert(rule, _short_key(key), key=mask_ids_in_text(key.split("|")[-1])[:40])
            for key in sorted(seen - current):
                alert(rule, _short_key(key), clearing=True, key=mask_ids_in_text(key.split("|")[-1])[:40])
        elif rule.kind_of_rule == "arrears_months":
            was, is_ = before["months"].get(rule.id, 0), now["months"].get(rule.id, 0)
            if is_ >= rule.months > was:
                alert(rule, f"{is_}:{now.get('as_of', '')}", value=is_)
            elif was >= rule.months > is_:
                alert(rule, f"{is_}:{now.get('as_of', '')}", clearing=True, value=was)
        elif rule.kind_of_rule == "tax_grade_drop":
            was, is_ = before.get("tax_grade"), now.get("tax_grade")
            order = _tax_order()
            if was in order and is_ in order and order.index(is_) > order.index(was):
                alert(rule, f"{was}>{is_}:{now.get('as_of', '')}", before=was, value=is_)
        elif rule.kind_of_rule == "grade_drop":
            was, is_ = before.get("grade"), now.get("grade")
            if was in grades and is_ in grades:
                dropped = grades.index(is_) - grades.index(was) >= rule.notches
                floor = watch.grade_floor
                below = floor in grades and grades.index(is_) > grades.index(floor) >= grades.index(was)
                if dropped or below:
                    alert(rule, f"{was}>{is_}:{now.get('as_of', '')}", before=was, value=is_)
        elif rule.kind_of_rule == "pd_rise":
            was, is_ = float(before.get("pd") or 0), float(now.get("pd") or 0)
            if was > 0 and is_ >= rule.factor * was:
                alert(rule, f"{was:.6f}>{is_:.6f}", before=f"{was:.2%}", value=f"{is_:.2%}")
    return out


def evaluate_watches(service: object, watches: list[Watch], *, as_of: dt.date | None = None, cause: str,
                     rules: AlertRules | None = None) -> int:
    """Re-evaluate ``watches``: append the alerts their changes raise (once each) and keep the new facts.
    Returns the number of new alerts."""
    rules = rules or load_rules()
    as_of = as_of or dt.date.today()
    store: Store = service.store
    raised: list[dict] = []
    states: dict[int, dict] = {}
    scales = {seg: list(service.models.scorer(seg).scale.names) for seg in Segment}
    for i in range(0, len(watches), CHUNK):
        part = watches[i:i + CHUNK]
        facts = _facts_many(service, list(dict.fromkeys((w.subject_id, w.segment) for w in part)), as_of,
                            rules=rules)
        for watch in part:
            now = facts.get(watch.subject_id)
            if not isinstance(now, dict):
                continue  # the subject left the store (an objection upheld with removal): nothing to compare
            now = {**now, "as_of": as_of.isoformat()}
            for change in _changes(watch, watch.state, now, rules, scales[watch.segment]):
                raised.append({**change, "watch_id": watch.id, "institution": watch.institution,
                               "subject_masked": watch.subject_masked, "cause": cause})
            states[watch.id] = now
    added = _append(store, raised)
    _keep_states(store, states)
    return added


def _keep_states(store: Store, states: dict[int, dict]) -> None:
    if not states:
        return
    stmt = update(WATCHES).where(WATCHES.c.id == bindparam("wid")).values(state=bindparam("facts"))
    rows = [{"wid": k, "facts": json.dumps(v)} for k, v in states.items()]
    with store.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(stmt, rows[i:i + 5000])


_LOCK = threading.Lock()


def _append(store: Store, rows: list[dict]) -> int:
    """Append alerts not raised before, their cursor assigned in commit order under one lock; queue webhooks."""
    if not rows:
        return 0
    with _LOCK, store.engine.connect() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262020)")
        try:
            keys = [r["dedupe_key"] for r in rows]
            known = set()
            for i in range(0, len(keys), 500):
                known |= set(conn.execute(select(ALERTS.c.dedupe_key)
                                          .where(ALERTS.c.dedupe_key.in_(keys[i:i + 500]))).scalars())
            fresh = [r for r in {r["dedupe_key"]: r for r in rows}.values() if r["dedupe_key"] not in known]
            last = conn.execute(select(ALERTS.c.seq).order_by(ALERTS.c.seq.desc()).limit(1)).scalar() or 0
            now = _now()
            hooked = set(conn.execute(select(WEBHOOKS.c.institution)).scalars())
            for i, r in enumerate(fresh, start=1):
                r.update(seq=last + i, alert_id=uuid.uuid4().hex, detected_at=now)
            if fresh:
                conn.execute(insert(ALERTS), fresh)
                outbox = [{"alert_id": r["alert_id"], "institution": r["institution"], "attempts": 0,
                           "next_attempt_at": now} for r in fresh if r["institution"] in hooked]
                if outbox:
                    conn.execute(insert(WEBHOOK_OUTBOX), outbox)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return len(fresh)


def after_ingest(service: object, kinds: str | Iterable[str], since: dt.datetime, *,
                 as_of: dt.date | None = None) -> int:
    """Re-evaluate the watched subjects an ingest of ``kinds`` touched (records ingested since ``since``): each
    subject once, however many of the day's files name it."""
    touched: set[str] = set()
    with service.store.engine.connect() as conn:
        for kind in [kinds] if isinstance(kinds, str) else kinds:
            k = KINDS[kind]
            table = record_table(k)
            column = table.c[k.subject_column]
            touched |= set(conn.execute(select(column).distinct().where(table.c.ingested_at >= since)).scalars())
    if not touched:
        return 0
    firms, heads = [], []
    for subject in touched:
        try:
            _, segment = identify(str(subject))
        except CreditScoreError:
            continue
        (firms if segment is Segment.SME else heads).append(str(subject))
    watches = _active(service.store, as_of or dt.date.today(), uscc=firms, heads=heads)
    return evaluate_watches(service, watches, as_of=as_of, cause="ingest")


def sweep(service: object, *, as_of: dt.date | None = None, cause: str = "sweep") -> int:
    """Re-evaluate every active watch: the nightly sweep, and after a model promotion (``cause="model"``)."""
    return evaluate_watches(service, _active(service.store, as_of or dt.date.today()), as_of=as_of, cause=cause)


# --- the feed, acknowledgements ---------------------------------------------------------------------------------


def feed(store: Store, institution: str, *, after: int = 0, limit: int = 100) -> tuple[list[dict], int]:
    """The institution's alerts after the cursor, in order, and the cursor to ask with next."""
    limit = max(1, min(limit, 1000))
    with store.engine.connect() as conn:
        rows = conn.execute(select(ALERTS).where(ALERTS.c.institution == institution, ALERTS.c.seq > after)
                            .order_by(ALERTS.c.seq).limit(limit)).mappings().all()
    items = [{k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()
              if k not in ("dedupe_key", "institution")} for r in rows]
    return items, (items[-1]["seq"] if items else after)


def actions_of(store: Store, alert_ids: list[str]) -> dict[str, str]:
    """The latest action on each of these alerts (acknowledged / cleared)."""
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for i in range(0, len(alert_ids), 500):
            for row in conn.execute(select(ALERT_ACTIONS.c.alert_id, ALERT_ACTIONS.c.action)
                                    .where(ALERT_ACTIONS.c.alert_id.in_(alert_ids[i:i + 500]))
                                    .order_by(ALERT_ACTIONS.c.id)):
                out[row.alert_id] = row.action
    return out


def act(store: Store, caller: Caller, alert_id: str, *, action: Literal["acknowledged", "cleared"],
        note: str | None, request_id: str = "") -> None:
    """Acknowledge or clear (解除) an alert of the caller's institution, with a note; audited."""
    with store.engine.begin() as conn:
        row = conn.execute(select(ALERTS.c.subject_masked).where(ALERTS.c.alert_id == alert_id,
                                                                 ALERTS.c.institution == caller.institution)).first()
        if row is None:
            raise UnknownSubject(f"no alert {alert_id} of {caller.institution}")
        conn.execute(insert(ALERT_ACTIONS).values(alert_id=alert_id, action=action,
                                                  note=mask_ids_in_text(note or "")[:2000], by=caller.key_prefix,
                                                  at=_now()))
    write_audit(store, caller=caller, request_id=request_id or "alert", route=f"alert_{action}", status=200,
                purpose=f"{action} {alert_id}")


# --- webhooks -----------------------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def set_webhook(store: Store, institution: str, url: str, *, rotate: bool = False) -> str:
    """Allow-list ``url`` for an institution's alerts (an administrator's act); returns the newest secret.

    ``rotate`` adds a new secret and keeps the previous one: both sign until the receiver has switched."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidValue(f"a webhook URL is http(s)://host/path, not {url!r}")
    with store.engine.begin() as conn:
        row = conn.execute(select(WEBHOOKS).where(WEBHOOKS.c.institution == institution)).first()
        secret = new_secret()
        if row is None:
            conn.execute(insert(WEBHOOKS).values(institution=institution, url=url, secrets=json.dumps([secret]),
                                                 created_at=_now()))
            return secret
        kept = json.loads(row.secrets)
        if not rotate:
            conn.execute(update(WEBHOOKS).where(WEBHOOKS.c.institution == institution).values(url=url))
            return kept[0]
        conn.execute(update(WEBHOOKS).where(WEBHOOKS.c.institution == institution)
                     .values(url=url, secrets=json.dumps([secret, kept[0]])))
        return secret


def sign(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` per secret."""
    out = []
    for secret in secrets_:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        out.append("v1," + base64.b64encode(digest).decode())
    return " ".join(out)


def _payload(alert: dict, base_url: str) -> bytes:
    """Thin: what happened to whom (masked), when, and where to read more — no personal data."""
    return json.dumps({"type": f"alert.{alert['rule']}", "timestamp": alert["detected_at"].isoformat()
                       if isinstance(alert["detected_at"], dt.datetime) else str(alert["detected_at"]),
                       "data": {"alert_id": alert["alert_id"], "rule": alert["rule"], "severity": alert["severity"],
                                "clearing": bool(alert["clearing"]), "subject": alert["subject_masked"],
                                "link": f"{base_url.rstrip('/')}/v1/alerts?after={alert['seq'] - 1}&limit=1"}},
                      ensure_ascii=False, separators=(",", ":")).encode()


def deliver_due(store: Store, *, now: dt.datetime | None = None, base_url: str = "http://127.0.0.1:8000",
                timeout: float = 10.0) -> dict[str, int]:
    """Push every outbox entry that is due; a failure is retried later on the backoff schedule (at least once,
    the alert id as the idempotency key). Redirects are not followed: a target moves only by an admin's word."""
    import httpx

    now = now or _now()
    done = {"delivered": 0, "failed": 0}
    with store.engine.connect() as conn:
        due = conn.execute(select(WEBHOOK_OUTBOX, ALERTS, WEBHOOKS.c.url, WEBHOOKS.c.secrets)
                           .join(ALERTS, ALERTS.c.alert_id == WEBHOOK_OUTBOX.c.alert_id)
                           .join(WEBHOOKS, WEBHOOKS.c.institution == WEBHOOK_OUTBOX.c.institution)
                           .where(WEBHOOK_OUTBOX.c.delivered_at.is_(None),
                                  WEBHOOK_OUTBOX.c.next_attempt_at <= now)
                           .order_by(ALERTS.c.seq).limit(500)).mappings().all()
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for row in due:
            with store.engine.begin() as conn:  # claim it: another worker delivering at once skips it
                claimed = conn.execute(update(WEBHOOK_OUTBOX).where(
                    WEBHOOK_OUTBOX.c.id == row["id"], WEBHOOK_OUTBOX.c.delivered_at.is_(None),
                    WEBHOOK_OUTBOX.c.attempts == row["attempts"]).values(
                    attempts=row["attempts"] + 1, next_attempt_at=now + dt.timedelta(minutes=2))).rowcount
            if not claimed:
                continue
            body = _payload(dict(row), base_url)
            stamp = int(now.timestamp())
            headers = {"webhook-id": row["alert_id"], "webhook-timestamp": str(stamp),
                       "webhook-signature": sign(json.loads(row["secrets"]), row["alert_id"], stamp, body),
                       "content-type": "application/json"}
            error = None
            try:
                response = client.post(row["url"], content=body, headers=headers)
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            attempts = int(row["attempts"]) + 1
            values: dict[str, object] = {"last_error": error}
            if error is None:
                values["delivered_at"] = now
                done["delivered"] += 1
            else:
                detected = row["detected_at"]
                detected = detected.replace(tzinfo=dt.UTC) if detected.tzinfo is None else detected
                values["next_attempt_at"] = now + BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
                if now - detected > GIVE_UP_AFTER:  # the feed still has it: only the push gives up
                    values["last_error"] = f"{error}; push given up after {attempts} attempts (the feed has it)"
                    values["next_attempt_at"] = now + dt.timedelta(days=3650)
                done["failed"] += 1
            with store.engine.begin() as conn:
                conn.execute(update(WEBHOOK_OUTBOX).where(WEBHOOK_OUTBOX.c.id == row["id"]).values(**values))
    return done


class Deliverer:
    """Pushes due webhooks every ``every`` seconds in a background thread of a service worker (each worker runs
    one; an outbox entry is claimed before it is sent, so two workers never push it at the same moment)."""

    def __init__(self, store: Store, *, every: float = 15.0, base_url: str = "http://127.0.0.1:8000") -> None:
        self.store, self.every, self.base_url = store, every, base_url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import logging

        while not self._stop.wait(self.every):
            try:
                with self.store.engine.connect() as conn:
                    if conn.execute(select(WEBHOOKS.c.institution).limit(1)).first() is None:
                        continue
                deliver_due(self.store, base_url=self.base_url)
            except Exception:  # the next round tries again; a crash here must not end the worker
                logging.getLogger("creditscore.alerts").exception("webhook delivery round failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def any_watches(store: Store) -> bool:
    """Whether anyone watches anything: the doors skip detection (and loading models for it) when nobody does."""
    with store.engine.connect() as conn:
        return conn.execute(select(WATCHES.c.id).where(WATCHES.c.removed_at.is_(None)).limit(1)).first() is not None


def daily_summary(store: Store, institution: str, day: dt.date, out: str | Path) -> Path:
    """The institution's alerts of one day (UTC) as CSV or XLSX, for banks that take files."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    with store.engine.connect() as conn:
        result = conn.execute(select(ALERTS.c.seq, ALERTS.c.alert_id, ALERTS.c.detected_at, ALERTS.c.rule,
                                     ALERTS.c.severity, ALERTS.c.clearing, ALERTS.c.subject_masked,
                                     ALERTS.c.text_zh, ALERTS.c.text_en)
                              .where(ALERTS.c.institution == institution, ALERTS.c.detected_at >= start,
                                     ALERTS.c.detected_at < start + dt.timedelta(days=1)).order_by(ALERTS.c.seq))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame["severity_zh"] = frame["severity"].map(SEVERITY_ZH)
    path = Path(out)
    if path.suffix.lower() == ".xlsx":
        frame.assign(detected_at=frame["detected_at"].astype(str)).to_excel(path, index=False, sheet_name="预警")
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        raise InvalidValue("a daily summary is .csv or .xlsx")
    return path
