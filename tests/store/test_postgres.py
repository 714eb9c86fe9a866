"""The store and ingest against a real PostgreSQL server (started by the fixture)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from creditscore.store import Store, ingest_file
from tests.store.test_ingest import penalties_file

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_postgres_ingest_is_idempotent_and_rejects_bad_rows(postgres_url: str, tmp_path: Path) -> None:
    store = Store(postgres_url)
    store.init()
    store.init()
    path = penalties_file(tmp_path / "p.csv", 2000, bad_every=100)
    first = ingest_file(store, "penalties", path, today=dt.date(2026, 6, 30), chunk_rows=500)
    second = ingest_file(store, "penalties", path, today=dt.date(2026, 6, 30))
    assert (first.inserted, first.rejected) == (1980, 20)
    assert (second.inserted, second.duplicates) == (0, 1980)
    frame = store.records("penalties", as_of=dt.date(2025, 1, 31))
    assert len(frame) == 1980
    one = frame.iloc[0]["uscc"]
    assert len(store.subject_records(one)["penalties"]) == (frame["uscc"] == one).sum()
    store.dispose()
