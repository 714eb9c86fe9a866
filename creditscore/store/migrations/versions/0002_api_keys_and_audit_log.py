"""api keys and audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:48:55.249183
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False, comment='first characters of the key, for display'),
    sa.Column('key_hash', sa.String(length=64), nullable=False, comment='SHA-256 of the key; the key is never stored'),
    sa.Column('institution', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix')),
    comment='API keys per institution, stored hashed'
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('institution', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=True),
    sa.Column('subject_masked', sa.String(length=24), nullable=True, comment='never a full resident ID'),
    sa.Column('purpose', sa.String(length=200), nullable=True),
    sa.Column('authorization_ref', sa.String(length=200), nullable=True),
    sa.Column('model_version', sa.String(length=80), nullable=True),
    sa.Column('policy_version', sa.String(length=40), nullable=True),
    sa.Column('result_grade', sa.String(length=16), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=True, comment='the decision record (JSON), subject masked'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    comment='append-only log of every subject query (征信业管理条例 art. 22)'
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_subject_masked'), ['subject_masked'], unique=False)

    # The audit log is append-only: the database itself refuses to change or delete a line.
    if op.get_context().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    else:
        op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_subject_masked'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('api_keys')
