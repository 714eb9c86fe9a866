"""batch jobs in the store

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_jobs',
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=16), nullable=False, comment='prefix of the API key that submitted the file'),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False, comment='queued, running, done or failed'),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('scored', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_batch_jobs')),
    comment='household batch jobs: in the store so that every service worker can report on every job'
    )


def downgrade() -> None:
    op.drop_table('batch_jobs')
