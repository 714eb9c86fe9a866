"""The store's tables, derived from the record contracts in :mod:`creditscore.records.contracts`.

One table per record kind, with the contract's fields plus a surrogate ``id``, the
natural ``record_key`` (unique: it is what makes ingest idempotent), and where
each row came from. Money is BIGINT fen; dates are DATE.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from creditscore.records.contracts import KINDS, Field, FieldType, RecordKind

__all__ = ["API_KEYS", "AUDIT_ARCHIVES", "AUDIT_LOG", "BATCH_JOBS", "INGEST_LOG", "METADATA", "MODEL_GENERATIONS",
           "record_table"]

METADATA = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _sql_type(f: Field) -> TypeEngine:
    match f.type:
        case FieldType.USCC | FieldType.RESIDENT_ID | FieldType.SUBJECT_ID:
            return String(18)
        case FieldType.DIVISION:
            return String(f.length or 12)
        case FieldType.DATE | FieldType.MONTH:
            return Date()
        case FieldType.YEAR | FieldType.INT:
            return Integer()
        case FieldType.DECIMAL:
            return Float()
        case FieldType.MONEY:
            return BigInteger()
        case FieldType.ENUM:
            return String(24)
        case _:
            return Text() if f.max_length > 400 else String(f.max_length)


def _build(kind: RecordKind) -> Table:
    columns: list[Column] = [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("record_key", String(400), nullable=False, unique=True),
    ]
    for f in kind.fields:
        always = f.required or f.name in ("published_on", "subject_type")  # both filled in by the parser
        columns.append(Column(f.name, _sql_type(f), nullable=not always, comment=f.zh))
    columns += [
        Column("source", String(300), nullable=True, comment="file the row was ingested from"),
        Column("ingested_at", DateTime(timezone=True), nullable=False),
    ]
    table = Table(kind.name, METADATA, *columns, comment=kind.zh)
    Index(None, table.c[kind.subject_column])
    if kind.name == "objections":  # found by the record they target: "<subject id>|…" (migration 0004)
        Index(None, table.c.target_key, postgresql_ops={"target_key": "text_pattern_ops"})
    if kind.has_published_on:
        Index(None, table.c.published_on)
    return table


_TABLES = {name: _build(kind) for name, kind in KINDS.items()}

INGEST_LOG = Table(
    "ingest_log", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("source", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    comment="one row per ingested file",
)


API_KEYS = Table(
    "api_keys", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False, unique=True, comment="first characters of the key, for display"),
    Column("key_hash", String(64), nullable=False, unique=True, comment="SHA-256 of the key; the key is never stored"),
    Column("institution", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    comment="API keys per institution, stored hashed",
)

AUDIT_LOG = Table(
    "audit_log", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(40), nullable=False),
    Column("key_prefix", String(16), nullable=False),
    Column("institution", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("route", String(120), nullable=False),
    Column("subject_type", String(16), nullable=True),
    Column("subject_masked", String(24), nullable=True, comment="never a full resident ID"),
    Column("purpose", String(200), nullable=True),
    Column("authorization_ref", String(200), nullable=True),
    Column("model_version", String(80), nullable=True),
    Column("policy_version", String(40), nullable=True),
    Column("result_grade", String(16), nullable=True),
    Column("status", Integer, nullable=False),
    Column("decision", Text(), nullable=True, comment="rows before migration 0006: the decision record (JSON)"),
    Column("decision_z", LargeBinary(), nullable=True, comment="the decision record, zlib-compressed JSON"),
    Column("prev_hash", String(64), nullable=True, comment="the row_hash of the row before (a hash chain)"),
    Column("row_hash", String(64), nullable=True, comment="sha256 of prev_hash and this row's content"),
    comment="append-only log of every subject query (征信业管理条例 art. 22)",
)

AUDIT_ARCHIVES = Table(
    "audit_archives", METADATA,
    Column("first_id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("first_prev_hash", String(64), nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("path", String(1000), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False),
    comment="audit rows moved to compressed files: the chain verifies across them",
)
Index(None, AUDIT_LOG.c.at)
Index(None, AUDIT_LOG.c.subject_masked)


def record_table(kind: str | RecordKind) -> Table:
    """The table that stores records of ``kind``."""
    name = kind if isinstance(kind, str) else kind.name
    return _TABLES[name]

BATCH_JOBS = Table(
    "batch_jobs", METADATA,
    Column("job_id", String(32), primary_key=True),
    Column("owner", String(16), nullable=False, comment="prefix of the API key that submitted the file"),
    Column("filename", String(255), nullable=False),
    Column("status", String(16), nullable=False, comment="queued, running, done or failed"),
    Column("rows", Integer, nullable=True),
    Column("processed", Integer, nullable=False, default=0),
    Column("scored", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("message", Text(), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("worker", String(120), nullable=True, comment="host:pid of the process grading the job"),
    comment="household batch jobs: in the store so that every service worker can report on every job",
)

MODEL_GENERATIONS = Table(
    "model_generations", METADATA,
    Column("generation", Integer, primary_key=True, autoincrement=True),
    Column("sme", String(500), nullable=False, comment="where the SME bundle comes from"),
    Column("household", String(500), nullable=False, comment="where the household bundle comes from"),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(200), nullable=False, comment="start-up, reload, promotion"),
    comment="the models served: the latest generation is what every worker, the CLI and the batches grade with",
)

USERS = Table(
    "users", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("institution", String(200), nullable=False),
    Column("role", String(16), nullable=False, comment="bank, assessor, analyst or admin: the API keys' roles"),
    Column("password_hash", String(200), nullable=False, comment="argon2id; the password is never stored"),
    Column("failed_logins", Integer, nullable=False, default=0, comment="consecutive failures since the last login"),
    Column("locked_until", DateTime(timezone=True), nullable=True, comment="no login before this time"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    comment="people who use the web pages, per institution",
)

WEB_SESSIONS = Table(
    "web_sessions", METADATA,
    Column("token_hash", String(64), primary_key=True, comment="SHA-256 of the cookie's token; never the token"),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False, comment="the token every form of the session carries"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, comment="absolute end of the session"),
    comment="server-side web sessions: logging out or disabling a user ends them at once, in every worker",
)

CREDIT_REPORTS = Table(
    "credit_reports", METADATA,
    Column("number", String(40), primary_key=True, comment="the number printed on the report"),
    Column("content_hash", String(64), nullable=False, comment="SHA-256 of the report's content (deterministic)"),
    Column("subject_masked", String(24), nullable=False, comment="never a full resident ID"),
    Column("segment", String(16), nullable=False),
    Column("as_of", Date(), nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
    Column("institution", String(200), nullable=False, comment="who the report was issued to"),
    Column("html_sha256", String(64), nullable=True, comment="SHA-256 of the HTML document handed out"),
    Column("pdf_sha256", String(64), nullable=True, comment="SHA-256 of the PDF document handed out"),
    comment="credit reports issued: a presented report is genuine when its bytes hash to what was issued",
)

WATCHES = Table(
    "watches", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution", String(200), nullable=False, index=True),
    Column("segment", String(16), nullable=False),
    Column("uscc", String(18), nullable=True, index=True, comment="a watched firm (a firm's code is public)"),
    Column("household_row", Integer, nullable=True, comment="a watched household: its row in households (the "
                                                             "subject table holds the ID, never this table)"),
    Column("subject_masked", String(24), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("authorization_ref", String(200), nullable=True),
    Column("grade_floor", String(16), nullable=True, comment="alert when the grade falls below this"),
    Column("expires_on", Date(), nullable=True, comment="e.g. the loan's maturity; a household's is required"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(16), nullable=False),
    Column("removed_at", DateTime(timezone=True), nullable=True),
    Column("state", Text(), nullable=True, comment="what was last seen (JSON): grade, PD, tax grade, record keys"),
    comment="subjects an institution watches (预警): a standing query, audited when created",
)

ALERTS = Table(
    "alerts", METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=False,
           comment="the feed's cursor: assigned in commit order, so a reader never skips one"),
    Column("alert_id", String(32), nullable=False, unique=True, comment="the idempotency key receivers see"),
    Column("watch_id", Integer, nullable=False, index=True),
    Column("institution", String(200), nullable=False, index=True),
    Column("rule", String(60), nullable=False),
    Column("severity", String(8), nullable=False, comment="red, orange or yellow (红/橙/黄)"),
    Column("clearing", Integer, nullable=False, default=0, comment="1: an earlier alert's cause went away"),
    Column("subject_masked", String(24), nullable=False),
    Column("text_zh", Text(), nullable=False),
    Column("text_en", Text(), nullable=False),
    Column("dedupe_key", String(300), nullable=False, unique=True, comment="one alert per watch, rule and fact"),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("cause", String(40), nullable=False, comment="ingest, sweep or model"),
    comment="alerts, append-only: acknowledgements are written beside them (alert_actions)",
)

ALERT_ACTIONS = Table(
    "alert_actions", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(32), nullable=False, index=True),
    Column("action", String(16), nullable=False, comment="acknowledged or cleared (解除)"),
    Column("note", Text(), nullable=True),
    Column("by", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    comment="what an institution did about an alert",
)

WEBHOOKS = Table(
    "webhooks", METADATA,
    Column("institution", String(200), primary_key=True),
    Column("url", String(500), nullable=False, comment="allow-listed by an administrator"),
    Column("secrets", Text(), nullable=False, comment="signing secrets (whsec_…), newest first, at most two"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    comment="an institution's webhook for alerts (Standard Webhooks)",
)

WEBHOOK_OUTBOX = Table(
    "webhook_outbox", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(32), nullable=False, index=True),
    Column("institution", String(200), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, index=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(300), nullable=True),
    comment="alerts waiting to be pushed: retried on a backoff schedule until delivered (at least once)",
)
