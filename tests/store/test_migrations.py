"""The Alembic migrations and the tables derived from the contracts must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from creditscore.store import Store
from creditscore.store.tables import METADATA


def test_migrations_match_the_contracts(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert diff == [], f"the contracts changed without a migration: {diff}"


def test_init_is_idempotent(store: Store) -> None:
    store.init()
    assert store.is_initialised()
    assert set(store.counts()) >= {"enterprises", "households", "penalties", "loans"}
