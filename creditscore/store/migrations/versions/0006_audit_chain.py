"""audit log: hash chain, compact decisions, archives, and triggers against every rewrite

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MESSAGE = "the audit log is append-only"
CONTINUE = "the audit log is append-only: an archive must continue the chain"

SQLITE_TRIGGERS = [
    # an UPDATE, or an UPSERT's DO UPDATE
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    # a DELETE, or the delete inside REPLACE / INSERT OR REPLACE (PRAGMA recursive_triggers is on); archived rows
    # alone may go, once their archive is recorded
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "WHEN OLD.id > (SELECT COALESCE(MAX(last_id), 0) FROM audit_archives) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    # a row written over an existing id, whatever the conflict clause
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    # an archive entry (which lets its rows leave the table) must continue the chain exactly
    "CREATE TRIGGER audit_archives_continue BEFORE INSERT ON audit_archives "
    "WHEN NEW.first_id != (SELECT COALESCE(MAX(last_id), 0) + 1 FROM audit_archives) "
    "OR NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.last_id AND row_hash = NEW.last_hash) "
    "OR NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.first_id AND prev_hash = NEW.first_prev_hash) "
    f"BEGIN SELECT RAISE(ABORT, '{CONTINUE}'); END",
    "CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives "
    "BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END",
    "CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives "
    "BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END",
]
POSTGRES = [
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'DELETE' AND OLD.id <= (SELECT COALESCE(MAX(last_id), 0) FROM audit_archives) THEN RETURN OLD; "
    f"END IF; RAISE EXCEPTION '{MESSAGE}'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()",
    "CREATE TRIGGER audit_archives_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_archives "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()",
    "CREATE FUNCTION audit_archives_continue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.first_id != (SELECT COALESCE(MAX(last_id), 0) + 1 FROM audit_archives) "
    "OR NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.last_id AND row_hash = NEW.last_hash) "
    "OR NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.first_id AND prev_hash = NEW.first_prev_hash) "
    f"THEN RAISE EXCEPTION '{CONTINUE}'; END IF; RETURN NEW; END $$",
    "CREATE TRIGGER audit_archives_continue BEFORE INSERT ON audit_archives "
    "FOR EACH ROW EXECUTE FUNCTION audit_archives_continue()",
]


def upgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.add_column('audit_log', sa.Column('decision_z', sa.LargeBinary(), nullable=True,
                                         comment='the decision record, zlib-compressed JSON'))
    op.add_column('audit_log', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('row_hash', sa.String(length=64), nullable=True))
    op.create_table('audit_archives',
    sa.Column('first_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('first_prev_hash', sa.String(length=64), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('first_id', name=op.f('pk_audit_archives')),
    comment='audit rows moved to compressed files: the chain verifies across them'
    )
    _seal_existing_rows(op.get_bind())
    for statement in (SQLITE_TRIGGERS if sqlite else POSTGRES):
        op.execute(statement)


def _seal_existing_rows(bind) -> None:
    """Rows written before the chain existed get their hashes now, in id order (the triggers are off)."""
    from creditscore.store.audit_chain import GENESIS, content_hash

    table = sa.table('audit_log', *[sa.column(c) for c in (
        "id", "at", "request_id", "key_prefix", "institution", "role", "route", "subject_type", "subject_masked",
        "purpose", "authorization_ref", "model_version", "policy_version", "result_grade", "status", "decision",
        "decision_z", "prev_hash", "row_hash")])
    prev = GENESIS
    rows = bind.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    for row in rows:
        sealed = content_hash(dict(row), prev)
        bind.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=prev, row_hash=sealed))
        prev = sealed


def downgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        for name in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace",
                     "audit_archives_continue", "audit_archives_no_update", "audit_archives_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_archives_no_change ON audit_archives")
        op.execute("DROP TRIGGER IF EXISTS audit_archives_continue ON audit_archives")
        op.execute("DROP FUNCTION IF EXISTS audit_log_no_truncate()")
        op.execute("DROP FUNCTION IF EXISTS audit_archives_continue()")
    op.drop_table('audit_archives')
    op.drop_column('audit_log', 'row_hash')
    op.drop_column('audit_log', 'prev_hash')
    op.drop_column('audit_log', 'decision_z')
