"""watch lists, alerts, alert actions, webhooks and their outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'watches',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('institution', sa.String(length=200), nullable=False),
        sa.Column('segment', sa.String(length=16), nullable=False),
        sa.Column('uscc', sa.String(length=18), nullable=True, comment="a watched firm (a firm's code is public)"),
        sa.Column('household_row', sa.Integer(), nullable=True,
                  comment='a watched household: its row in households (the subject table holds the ID, never this '
                          'table)'),
        sa.Column('subject_masked', sa.String(length=24), nullable=False),
        sa.Column('purpose', sa.String(length=200), nullable=False),
        sa.Column('authorization_ref', sa.String(length=200), nullable=True),
        sa.Column('grade_floor', sa.String(length=16), nullable=True, comment='alert when the grade falls below this'),
        sa.Column('expires_on', sa.Date(), nullable=True,
                  comment="e.g. the loan's maturity; a household's is required"),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=16), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('state', sa.Text(), nullable=True,
                  comment='what was last seen (JSON): grade, PD, tax grade, record keys'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watches')),
        comment='subjects an institution watches (预警): a standing query, audited when created',
    )
    op.create_index(op.f('ix_watches_institution'), 'watches', ['institution'], unique=False)
    op.create_index(op.f('ix_watches_uscc'), 'watches', ['uscc'], unique=False)
    op.create_table(
        'alerts',
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False,
                  comment="the feed's cursor: assigned in commit order, so a reader never skips one"),
        sa.Column('alert_id', sa.String(length=32), nullable=False, comment='the idempotency key receivers see'),
        sa.Column('watch_id', sa.Integer(), nullable=False),
        sa.Column('institution', sa.String(length=200), nullable=False),
        sa.Column('rule', sa.String(length=60), nullable=False),
        sa.Column('severity', sa.String(length=8), nullable=False, comment='red, orange or yellow (红/橙/黄)'),
        sa.Column('clearing', sa.Integer(), nullable=False, comment="1: an earlier alert's cause went away"),
        sa.Column('subject_masked', sa.String(length=24), nullable=False),
        sa.Column('text_zh', sa.Text(), nullable=False),
        sa.Column('text_en', sa.Text(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=300), nullable=False,
                  comment='one alert per watch, rule and fact'),
        sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cause', sa.String(length=40), nullable=False, comment='ingest, sweep or model'),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_alerts')),
        sa.UniqueConstraint('alert_id', name=op.f('uq_alerts_alert_id')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_alerts_dedupe_key')),
        comment='alerts, append-only: acknowledgements are written beside them (alert_actions)',
    )
    op.create_index(op.f('ix_alerts_watch_id'), 'alerts', ['watch_id'], unique=False)
    op.create_index(op.f('ix_alerts_institution'), 'alerts', ['institution'], unique=False)
    op.create_table(
        'alert_actions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('alert_id', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False, comment='acknowledged or cleared (解除)'),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('by', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_actions')),
        comment='what an institution did about an alert',
    )
    op.create_index(op.f('ix_alert_actions_alert_id'), 'alert_actions', ['alert_id'], unique=False)
    op.create_table(
        'webhooks',
        sa.Column('institution', sa.String(length=200), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False, comment='allow-listed by an administrator'),
        sa.Column('secrets', sa.Text(), nullable=False,
                  comment='signing secrets (whsec_…), newest first, at most two'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('institution', name=op.f('pk_webhooks')),
        comment="an institution's webhook for alerts (Standard Webhooks)",
    )
    op.create_table(
        'webhook_outbox',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('alert_id', sa.String(length=32), nullable=False),
        sa.Column('institution', sa.String(length=200), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_outbox')),
        comment='alerts waiting to be pushed: retried on a backoff schedule until delivered (at least once)',
    )
    op.create_index(op.f('ix_webhook_outbox_alert_id'), 'webhook_outbox', ['alert_id'], unique=False)
    op.create_index(op.f('ix_webhook_outbox_next_attempt_at'), 'webhook_outbox', ['next_attempt_at'], unique=False)


def downgrade() -> None:
    for table in ('webhook_outbox', 'webhooks', 'alert_actions', 'alerts', 'watches'):
        op.drop_table(table)
