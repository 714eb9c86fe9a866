"""Alembic environment: runs the store's migrations on the connection or URL it is given."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from creditscore.store.tables import METADATA

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=METADATA, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
