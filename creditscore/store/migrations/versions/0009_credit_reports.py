"""credit reports issued, for their verification

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'credit_reports',
        sa.Column('number', sa.String(length=40), nullable=False, comment='the number printed on the report'),
        sa.Column('content_hash', sa.String(length=64), nullable=False,
                  comment="SHA-256 of the report's content (deterministic)"),
        sa.Column('subject_masked', sa.String(length=24), nullable=False, comment='never a full resident ID'),
        sa.Column('segment', sa.String(length=16), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('institution', sa.String(length=200), nullable=False, comment='who the report was issued to'),
        sa.Column('html_sha256', sa.String(length=64), nullable=True,
                  comment='SHA-256 of the HTML document handed out'),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=True, comment='SHA-256 of the PDF document handed out'),
        sa.PrimaryKeyConstraint('number', name=op.f('pk_credit_reports')),
        comment='credit reports issued: a presented report is genuine when its bytes hash to what was issued',
    )


def downgrade() -> None:
    op.drop_table('credit_reports')
