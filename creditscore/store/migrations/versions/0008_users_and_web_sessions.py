"""users and server-side web sessions for the web pages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=100), nullable=False),
        sa.Column('institution', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False,
                  comment='bank, assessor, analyst or admin: the API keys\' roles'),
        sa.Column('password_hash', sa.String(length=200), nullable=False,
                  comment='argon2id; the password is never stored'),
        sa.Column('failed_logins', sa.Integer(), nullable=False, comment='consecutive failures since the last login'),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True, comment='no login before this time'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('username', name=op.f('uq_users_username')),
        comment='people who use the web pages, per institution',
    )
    op.create_table(
        'web_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False,
                  comment="SHA-256 of the cookie's token; never the token"),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False,
                  comment='the token every form of the session carries'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False, comment='absolute end of the session'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_sessions')),
        comment='server-side web sessions: logging out or disabling a user ends them at once, in every worker',
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_table('users')
