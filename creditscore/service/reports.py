"""Credit reports (信用报告): what is held on a firm or a household and why it was graded so, printable and
verifiable, with a path to a better grade.

The sections follow the central bank's enterprise credit report and the national public credit information
report: header, explanation, summary, basic information, public records by kind — each with its status and the
date it stops counting under the policy — objections, who has queried the subject, and how to improve.

**Determinism.** The report's content (everything but its number and the time it was generated) is a pure
function of the records known at the as-of date, the versions of model, policy and catalogue, and the purpose:
its SHA-256 (``content_hash``) is the same every time. The queries listed are those made *before* the as-of date,
so generating a report does not change the next one of the same date.

**Verification.** Each report issued is recorded (:data:`~creditscore.store.tables.CREDIT_REPORTS`) with its
number, content hash and the SHA-256 of the documents handed out (HTML, PDF): a presented document is genuine
and unaltered exactly when its bytes hash to one of them — one changed character is refused.

**Recourse.** (a) The records that will stop counting, and when, with the action that shortens each under the
policy; (b) the smallest set of actions a subject can take today — settle wage arrears, pay social-insurance or
utility arrears, perform a court judgment, leave the abnormal-operations list, cure an overdue loan — that lifts
the grade by at least one notch. Found with the model itself: each candidate set is applied to the subject's
records and graded again, so the promise is exactly what grading the changed records gives. Nothing a subject
cannot change (age, region, years in operation, history) is ever suggested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader
from sqlalchemy import func, insert, select

from creditscore.decisions.record import DecisionRecord
from creditscore.errors import CreditScoreError, InvalidValue
from creditscore.features import compute_features
from creditscore.features.columns import day_number, from_frame
from creditscore.features.engine import record_expiry
from creditscore.policy import Policy
from creditscore.records.contracts import KINDS, FieldType, RecordKind
from creditscore.records.ids import mask_ids_in_text, mask_resident_id
from creditscore.records.subjects import Segment, identify
from creditscore.service.audit import mask_subject, query_audit
from creditscore.service.keys import Caller
from creditscore.store import Store
from creditscore.store.tables import CREDIT_REPORTS, record_table

__all__ = ["Action", "CreditReport", "Recourse", "Verification", "build_report", "issue_report", "render_html",
           "render_pdf", "verify_document"]

EPOCH = pd.Timestamp("1970-01-01")
_TEMPLATES = Environment(loader=PackageLoader("creditscore", "templates"), autoescape=True, trim_blocks=True,
                         lstrip_blocks=True)

#: What each record kind's line says, and which kinds are negative (they can count against a subject).
_NEGATIVE = {"wage_arrears", "penalties", "court_listings", "market_listings", "social_insurance_arrears",
             "utility_arrears", "delinquencies"}
_ORDER = ["tax_grades", "tax_payments", "wage_arrears", "penalties", "court_listings", "market_listings",
          "social_insurance_arrears", "utility_arrears", "contracts", "loans", "delinquencies"]
STATUS_ZH = {"in_force": "计入评价", "repaired": "已修复，不计入", "under_objection": "异议处理中，不计入",
             "expired": "已过公示期，不计入",
             "information": "信息"}


@dataclass(frozen=True)
class RecordLine:
    kind: str
    kind_zh: str
    date: str
    text: str
    status: str
    status_zh: str
    stops_counting: str | None  # ISO date the record stops counting under the policy, when one applies
    key: str
    corrected: bool = False  # an objection against it was upheld: it stands as corrected


@dataclass(frozen=True)
class Action:
    """Something a subject can do today, and the records it changes (a kind, a field set to the as-of date)."""

    id: str
    zh: str
    en: str
    kind: str
    field: str
    applies: Callable[[pd.DataFrame], pd.Series]


def _unpaid(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].isna()


ACTIONS = [
    Action("settle_wage_arrears", "清偿拖欠的农民工工资", "pay the wages owed", "wage_arrears", "resolved_on",
           lambda f: _unpaid(f, "resolved_on")),
    Action("pay_social_insurance", "补缴欠缴的社会保险费", "pay the social insurance owed", "social_insurance_arrears",
           "paid_on", lambda f: _unpaid(f, "paid_on")),
    Action("pay_utilities", "缴清拖欠的水电气费", "pay the utility bills owed", "utility_arrears", "paid_on",
           lambda f: _unpaid(f, "paid_on")),
    Action("perform_judgment", "履行生效法律文书确定的义务，申请撤销失信被执行人名单",
           "perform the court's judgment and have the listing removed", "court_listings", "removed_on",
           lambda f: _unpaid(f, "removed_on")),
    Action("leave_abnormal_list", "补报年报或更正登记信息，申请移出经营异常名录",
           "file the missing annual report and apply to leave the abnormal-operations list", "market_listings",
           "exited_on", lambda f: _unpaid(f, "exited_on") & (f["list_type"].astype(str) == "abnormal")),
    Action("cure_overdue_loans", "结清逾期贷款", "repay the overdue loans", "delinquencies", "cured_on",
           lambda f: _unpaid(f, "cured_on")),
]


@dataclass(frozen=True)
class Recourse:
    """How the subject can reach a better grade."""

    current: str
    target: str | None  # the grade one notch better (None: already the best)
    actions: list[dict[str, object]]  # the smallest set found: id, zh, en, records it changes
    promised: str | None  # the grade the changed records get (at least ``target``), None if no set reaches it
    promised_pd: float | None
    expiring: list[dict[str, str]]  # records that will stop counting: kind, text, date, what shortens it
    note_zh: str = ""


@dataclass
class CreditReport:
    number: str
    generated_at: str
    content: dict[str, object]  # everything the content hash covers
    content_hash: str
    record: DecisionRecord = field(repr=False)


@dataclass(frozen=True)
class Verification:
    genuine: bool
    number: str
    reason: str
    subject: str | None = None
    as_of: str | None = None
    content_hash: str | None = None


def _date(day: float) -> str | None:
    return None if day is None or (isinstance(day, float) and math.isnan(day)) else \
        (EPOCH + pd.Timedelta(days=int(day))).date().isoformat()


def _text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (pd.Timestamp, dt.date)):
        return str(value)[:10]
    return str(value)


def _shown_value(f: object, value: object) -> str:
    text = _text(value)
    if not text:
        return ""
    if f.type is FieldType.MONEY:
        return f"{int(value) / 100:,.2f}元"
    if f.choices is not None:
        lookup = {m.value: m.zh for m in f.choices}
        return lookup.get(text, text)
    return text


def _line_text(kind: RecordKind, row: pd.Series) -> str:
    skip = {kind.event_date, "uscc", "head_id", "subject_id", "subject_type", "record_key", "published_on"}
    parts = [f"{f.zh}：{_shown_value(f, row.get(f.name))}" for f in kind.fields
             if f.name not in skip and _shown_value(f, row.get(f.name))]
    return mask_ids_in_text("；".join(parts))


def _objection_state(objections: pd.DataFrame, t: float) -> dict[tuple[str, str], str]:
    """(kind, record key) → pending / upheld / rejected, as known at *t* (the latest objection's state)."""
    out: dict[tuple[str, str], str] = {}
    if objections is None or not len(objections):
        return out
    for row in objections.sort_values("filed_on").itertuples(index=False):
        if day_number(row.filed_on) > t:
            continue
        resolved = row.resolved_on is not None and not pd.isna(row.resolved_on) and day_number(row.resolved_on) <= t
        out[(str(row.target_kind), str(row.target_key))] = str(row.status) if resolved else "pending"
    return out


def _record_lines(records: dict[str, pd.DataFrame], policy: Policy, t: float) -> dict[str, list[RecordLine]]:
    """Every public record of the subject known at *t*, by kind, with its status and when it stops counting."""
    objected = _objection_state(records.get("objections"), t)
    out: dict[str, list[RecordLine]] = {}
    for name in _ORDER:
        frame = records.get(name)
        kind = KINDS[name]
        if frame is None or not len(frame):
            continue
        event = kind.event_date or "published_on"
        cols = from_frame(kind, frame)
        expiry = record_expiry(kind, cols, policy)
        events = cols[event]
        lines = []
        for i, row in enumerate(frame.to_dict("records")):
            if events[i] > t or (kind.has_published_on and cols["published_on"][i] > t):
                continue  # not known at t: not in a report of t
            key = str(row.get("record_key", ""))
            state = objected.get((name, key))
            repaired = "repaired_on" in row and _text(row.get("repaired_on")) and day_number(row["repaired_on"]) <= t
            if state == "pending":
                status = "under_objection"
            elif name not in _NEGATIVE:
                status = "information"
            elif expiry[i] <= t:
                status = "repaired" if repaired else "expired"
            else:
                status = "in_force"
            corrected = state == "upheld"
            lines.append(RecordLine(kind=name, kind_zh=kind.zh, date=_text(row.get(event))[:10],
                                    text=_line_text(kind, pd.Series(row)), status=status,
                                    status_zh=STATUS_ZH[status] + ("（异议成立，已更正）" if corrected else ""),
                                    stops_counting=_date(expiry[i]) if status == "in_force" else None, key=key,
                                    corrected=corrected))
        out[name] = sorted(lines, key=lambda r: (r.date, r.key), reverse=True)
    return out


def _shortening(kind: str, policy: Policy, event: str) -> str:
    """What shortens a record's time under the policy, in a sentence."""
    for rule in policy.repair:
        if rule.kind == kind and rule.repaired_field:
            earliest = (pd.Timestamp(event) + pd.Timedelta(days=rule.repair_after_days)).date().isoformat()
            return f"纠正违法行为并申请信用修复，最早{earliest}起不再计入"
    return {"court_listings": "履行义务后经法院撤销即不再计入", "wage_arrears": "清偿欠薪并移出名单后缩短计入期",
            "market_listings": "补正后申请移出名录即不再计入", "social_insurance_arrears": "补缴后不再计为欠缴",
            "utility_arrears": "缴清后不再计为欠费", "delinquencies": "结清后自结清之日起计算5年"}.get(kind, "")


def _latest_dates(store: Store, as_of: str) -> list[tuple[str, str]]:
    """The latest record date of each kind known at the as-of date, across the store: how fresh each source is."""
    out = []
    with store.engine.connect() as conn:
        for name in _ORDER:
            kind = KINDS[name]
            table = record_table(kind)
            column = table.c[kind.event_date or "published_on"]
            latest = conn.execute(select(func.max(column)).where(column <= as_of)).scalar()
            if latest is not None:
                out.append((kind.zh, str(latest)[:10]))
    return out


def _basics(segment: Segment, records: dict[str, pd.DataFrame], t: float) -> list[tuple[str, str]]:
    name = segment.subject_kind
    frame = records.get(name)
    if frame is None or not len(frame):
        return []
    kind = KINDS[name]
    order = "surveyed_on" if "surveyed_on" in frame else kind.event_date
    known = frame[[day_number(v) <= t for v in frame[order]]] if order else frame
    if not len(known):
        return []
    row = known.sort_values(order).iloc[-1] if order else known.iloc[-1]
    skip = {"record_key", "subject_type", "published_on"}
    out = []
    for f in kind.fields:
        if f.name in skip:
            continue
        value = row.get(f.name)
        text = mask_resident_id(_text(value)) if f.type is FieldType.RESIDENT_ID else _shown_value(f, value)
        if text:
            out.append((f.zh, mask_ids_in_text(text)))
    return out


def _grade_records(scorer: object, records: dict[str, pd.DataFrame], subject: str, *, as_of: dt.date,
                   policy: Policy) -> tuple[str, float]:
    features = compute_features(scorer.catalogue, records, as_of, policy, subjects=[subject])
    d = scorer.score(features, with_reasons=False).decisions
    return str(d["final_grade"].iloc[0]), float(d["pd"].iloc[0])


def find_recourse(scorer: object, records: dict[str, pd.DataFrame], subject: str, *, as_of: dt.date,
                  policy: Policy, current: str) -> tuple[str | None, list[Action], str | None, float | None]:
    """(target grade, the smallest set of actions reaching it, the grade reached, its PD) — by grading the
    subject's records with each candidate set applied, smallest sets first (lowest PD among equals)."""
    grades = list(scorer.scale.names)
    if current not in grades or grades.index(current) == 0:
        return None, [], None, None
    target = grades[grades.index(current) - 1]
    applicable = [a for a in ACTIONS if a.kind in records and len(records[a.kind])
                  and bool(a.applies(records[a.kind]).any())]
    when = pd.Timestamp(as_of)
    for size in range(1, len(applicable) + 1):
        best: tuple[float, list[Action], str] | None = None
        for chosen in itertools.combinations(applicable, size):
            changed = apply_actions(records, chosen, when)
            grade, pd_ = _grade_records(scorer, changed, subject, as_of=as_of, policy=policy)
            if grades.index(grade) <= grades.index(target) and (best is None or pd_ < best[0]):
                best = (pd_, list(chosen), grade)
        if best is not None:
            return target, best[1], best[2], best[0]
    return target, [], None, None


def apply_actions(records: dict[str, pd.DataFrame], actions: list[Action] | tuple[Action, ...],
                  when: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The subject's records as they would stand with ``actions`` done on ``when``."""
    out = dict(records)
    for action in actions:
        frame = out[action.kind].copy()
        mask = action.applies(frame).to_numpy(dtype=bool)
        column = frame[action.field]
        frame[action.field] = column.where(~mask, when.date() if column.dtype == object else when)
        out[action.kind] = frame
    return out


def _queries(store: Store, subject_id: str, segment: Segment, as_of: dt.date) -> list[dict[str, str]]:
    lines = query_audit(store, subject=mask_subject(subject_id, segment.subject_type.value),
                        until=dt.datetime.combine(as_of, dt.time(), dt.UTC), limit=200)
    if not len(lines):
        return []
    lines = lines[lines["status"] == 200]
    return [{"at": str(r.at)[:10], "institution": str(r.institution), "purpose": str(r.purpose or ""),
             "route": str(r.route)} for r in lines.itertuples()]


def build_report(service: object, subject_id: str, *, as_of: dt.date | None = None, purpose: str,
                 authorization_ref: str | None = None, expected: Segment | None = None) -> CreditReport:
    """The report of one subject as of a date, from the store, graded by the service's models."""
    if not purpose or len(purpose.strip()) < 2:
        raise InvalidValue("a report needs its purpose")
    subject, segment = identify(subject_id)
    if expected is not None and segment is not expected:
        raise InvalidValue(f"{segment.display(subject)} is not a {expected.value} identifier")
    if segment is Segment.HOUSEHOLD and (not authorization_ref or len(authorization_ref.strip()) < 4):
        raise InvalidValue("a person's report needs the reference of their written authorisation")
    as_of = as_of or dt.date.today()
    t = day_number(as_of)
    store: Store = service.store
    record = service.grade(subject, as_of=as_of, expected=segment)
    records = store.subject_records(subject)
    scorer = service.models.scorer(segment)
    policy = service.policy
    lines = _record_lines(records, policy, t)
    target, actions, promised, promised_pd = find_recourse(scorer, records, subject, as_of=as_of, policy=policy,
                                                            current=record.final_grade)
    expiring = [{"kind": line.kind_zh, "text": line.text, "date": line.stops_counting or "",
                 "shortened_by": _shortening(line.kind, policy, line.date)}
                for kind_lines in lines.values() for line in kind_lines
                if line.status == "in_force" and line.stops_counting]
    expiring.sort(key=lambda e: e["date"])
    recourse = Recourse(
        current=record.final_grade, target=target, promised=promised, promised_pd=promised_pd,
        actions=[{"id": a.id, "zh": a.zh, "en": a.en,
                  "records": int(a.applies(records[a.kind]).sum())} for a in actions],
        expiring=expiring,
        note_zh=("已是最高等级" if target is None else
                 "" if promised else "仅凭当下可采取的行动尚不能提升一个等级；请关注下列记录到期时间"))
    name = ""
    basics = _basics(segment, records, t)
    if segment is Segment.SME:
        name = next((v for k, v in basics if k == "企业名称"), "")
    masked = record.masked()
    counts = {KINDS[k].zh: sum(1 for line in v if line.status == "in_force") for k, v in lines.items()
              if k in _NEGATIVE}
    content = {
        "as_of": as_of.isoformat(), "segment": segment.value, "subject": masked.subject_id, "subject_name": name,
        "purpose": mask_ids_in_text(purpose.strip()),
        "authorization_ref": mask_ids_in_text(authorization_ref.strip()) if authorization_ref else None,
        "versions": {"model": record.model_version, "policy": record.policy_version,
                     "catalogue": record.catalogue_version},
        "summary": {"final_grade": record.final_grade, "model_grade": record.model_grade, "pd": round(record.pd, 6),
                    "score": round(record.score, 2),
                    "overrides": [_rule_name(policy, rule) for rule in [*record.overrides, *record.red_list]],
                    "reasons": [{"kind": r.kind, "text_zh": r.text_zh, "text_en": r.text_en} for r in record.reasons],
                    "terms": record.loan_terms.model_dump(), "flags": record.flags, "tax_grade": record.tax_grade,
                    "counts": counts},
        "basics": basics,
        "records": {KINDS[k].zh: [asdict(line) for line in v] for k, v in lines.items()},
        "objections": _objections(records, t),
        "queries": _queries(store, subject, segment, as_of),
        "latest_data": _latest_dates(store, as_of.isoformat()),
        "recourse": asdict(recourse),
    }
    content_hash = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                             default=str).encode()).hexdigest()
    number = f"CS{as_of:%Y%m%d}{'E' if segment is Segment.SME else 'H'}{uuid.uuid4().hex[:10].upper()}"
    return CreditReport(number=number, generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        content=content, content_hash=content_hash, record=masked)


def _rule_name(policy: Policy, rule_id: str) -> str:
    for rule in [*policy.overrides, *getattr(policy.red_list, "rules", [])]:
        if rule.id == rule_id:
            return rule.name_zh
    return rule_id


def _objections(records: dict[str, pd.DataFrame], t: float) -> list[dict[str, str]]:
    frame = records.get("objections")
    if frame is None or not len(frame):
        return []
    out = []
    for row in frame.sort_values("filed_on").itertuples(index=False):
        if day_number(row.filed_on) > t:
            continue
        resolved = _text(row.resolved_on) and day_number(row.resolved_on) <= t
        status = str(row.status) if resolved else "pending"
        out.append({"kind": KINDS[str(row.target_kind)].zh if str(row.target_kind) in KINDS else str(row.target_kind),
                    "filed_on": _text(row.filed_on), "status": {"pending": "处理中", "upheld": "异议成立，已更正",
                                                                "rejected": "异议不成立"}.get(status, status),
                    "resolved_on": _text(row.resolved_on) if resolved else "",
                    "reason": mask_ids_in_text(_text(row.reason))[:200]})
    return out


def render_html(report: CreditReport) -> str:
    """The report as one self-contained HTML page (no script, no external resource): printable as it is."""
    return _TEMPLATES.get_template("credit_report.html.j2").render(
        r=report.content, number=report.number, generated_at=report.generated_at, content_hash=report.content_hash)


def render_pdf(html: str) -> bytes:
    """The report as PDF (WeasyPrint): A4, running header and footer, the CJK font embedded and subset."""
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def issue_report(store: Store, report: CreditReport, *, caller: Caller, documents: dict[str, bytes]) -> None:
    """Record a report handed out: its number, content hash and the SHA-256 of each document (HTML, PDF)."""
    with store.engine.begin() as conn:
        conn.execute(insert(CREDIT_REPORTS).values(
            number=report.number, content_hash=report.content_hash,
            subject_masked=report.content["subject"][:24], segment=report.content["segment"],
            as_of=dt.date.fromisoformat(str(report.content["as_of"])),
            generated_at=dt.datetime.fromisoformat(report.generated_at),
            institution=mask_ids_in_text(caller.institution)[:200],
            html_sha256=hashlib.sha256(documents["html"]).hexdigest() if "html" in documents else None,
            pdf_sha256=hashlib.sha256(documents["pdf"]).hexdigest() if "pdf" in documents else None))


def verify_document(store: Store, number: str, document: bytes | None = None, *,
                    content_hash: str | None = None) -> Verification:
    """Whether a presented report is one this platform issued, unaltered: its bytes (or the content hash printed
    on it) must match what was recorded under its number."""
    with store.engine.connect() as conn:
        row = conn.execute(select(CREDIT_REPORTS).where(CREDIT_REPORTS.c.number == number.strip())).first()
    if row is None:
        return Verification(False, number, "没有这个编号的报告 — no report with this number was issued here")
    facts = {"subject": row.subject_masked, "as_of": str(row.as_of)[:10], "content_hash": row.content_hash}
    if document is not None:
        digest = hashlib.sha256(document).hexdigest()
        if digest in (row.html_sha256, row.pdf_sha256):
            return Verification(True, number, "报告真实，内容未被改动 — genuine and unaltered", **facts)
        return Verification(False, number, "报告内容与签发时不一致，已被改动 — the document differs from the one "
                                           "issued under this number", **facts)
    if content_hash is not None:
        if content_hash.strip().lower() == row.content_hash:
            return Verification(True, number, "内容哈希一致 — the content hash matches", **facts)
        return Verification(False, number, "内容哈希不一致 — the content hash differs", **facts)
    raise CreditScoreError("give the document or its content hash to verify")


@dataclass(frozen=True)
class Issued:
    report: CreditReport
    document: bytes
    media_type: str
    filename: str


def issue(service: object, subject_id: str, *, fmt: str, caller: Caller, request_id: str, route: str,
          purpose: str, authorization_ref: str | None = None, as_of: dt.date | None = None,
          expected: Segment | None = None) -> Issued:
    """Build, render, record and audit one report: what every door (API, CLI, pages) calls.

    The query is audited like a grade — whatever happens, with the decision when there is one."""
    from creditscore.errors import UnknownSubject
    from creditscore.service.audit import write_audit

    if fmt not in ("pdf", "html"):
        raise InvalidValue(f"a report is PDF or HTML, not {fmt!r}: format=pdf or format=html")
    status, report = 200, None
    segment = expected
    try:
        report = build_report(service, subject_id, as_of=as_of, purpose=purpose,
                              authorization_ref=authorization_ref, expected=expected)
        segment = Segment.of(report.content["segment"])
        html = render_html(report).encode()
        documents = {"html": html}
        if fmt == "pdf":
            documents["pdf"] = render_pdf(html.decode())
        issue_report(service.store, report, caller=caller, documents=documents)
        return Issued(report, documents[fmt], "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
                      f"credit-report-{report.number}.{fmt}")
    except CreditScoreError as exc:
        status = 404 if isinstance(exc, UnknownSubject) else 422
        raise
    finally:
        write_audit(service.store, caller=caller, request_id=request_id, route=route, status=status,
                    subject_id=subject_id, subject_type=(segment or identify_segment(subject_id)).subject_type.value,
                    purpose=purpose, authorization_ref=authorization_ref,
                    decision=None if report is None else report.record)


def identify_segment(subject_id: str) -> Segment:
    """The segment an identifier belongs to, or SME when it is no identifier at all (for the audit line)."""
    try:
        return identify(subject_id)[1]
    except CreditScoreError:
        return Segment.SME


def number_in(document: bytes) -> str:
    """The report number a document carries (the HTML's title, the PDF's title metadata); raises when none."""
    import re

    if document[:5] == b"%PDF-":
        import io

        from pypdf import PdfReader

        try:
            title = PdfReader(io.BytesIO(document)).metadata.title or ""
        except Exception:  # any damaged PDF: it carries no number we can read
            title = ""
    else:
        title = document[:4000].decode("utf-8", errors="replace")
    found = re.search(r"CS\d{8}[EH][0-9A-F]{10}", title)
    if not found:
        raise InvalidValue("this file carries no report number: give it with --number")
    return found.group(0)


def report_path(out: str | Path) -> tuple[Path, str]:
    """Where to write and in which format (.pdf or .html)."""
    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "html"):
        raise InvalidValue(f"a report is written as .pdf or .html, not {path.suffix or 'no suffix'}")
    return path, fmt
