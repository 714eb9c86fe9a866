"""objections found by the record they target

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 15:40:00

Every grade reads the objections against its subject's records (``target_key`` starts with the subject's id
and ``|``); without an index that read scanned the whole table once per request. PostgreSQL gets the
``text_pattern_ops`` operator class so that the prefix ``LIKE`` uses the index whatever the database's
collation; SQLite's ``GLOB`` prefix uses a plain index.
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_objections_target_key'), 'objections', ['target_key'], unique=False,
                    postgresql_ops={'target_key': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index(op.f('ix_objections_target_key'), table_name='objections')
