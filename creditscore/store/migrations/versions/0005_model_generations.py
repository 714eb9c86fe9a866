"""model generations: which bundles every service worker must serve

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_generations',
    sa.Column('generation', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sme', sa.String(length=500), nullable=False, comment='where the SME bundle comes from'),
    sa.Column('household', sa.String(length=500), nullable=False, comment='where the household bundle comes from'),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False, comment='start-up, reload, promotion'),
    sa.PrimaryKeyConstraint('generation', name=op.f('pk_model_generations')),
    comment='the models served: the latest generation is what every worker, the CLI and the batches grade with'
    )


def downgrade() -> None:
    op.drop_table('model_generations')
