"""batch jobs: which worker process grades each one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('batch_jobs', sa.Column('worker', sa.String(length=120), nullable=True,
                                          comment='host:pid of the process grading the job'))


def downgrade() -> None:
    op.drop_column('batch_jobs', 'worker')
