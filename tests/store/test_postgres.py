"""The store and ingest against a real PostgreSQL server (started by the fixture)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

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
    with store.engine.connect() as conn:  # statistics taken by the ingest: a subject's rows come by index
        assert conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'penalties'")).scalar_one() > 1000
        plan = conn.execute(text("EXPLAIN SELECT * FROM penalties WHERE uscc = :u"), {"u": one}).scalars().all()
    assert "Seq Scan" not in " ".join(plan), plan
    store.dispose()


def test_postgres_serves_the_same_grades_keys_and_audit_as_sqlite(postgres_url: str, tmp_path: Path) -> None:
    """The service's hand-written SQL (keys, a batch of subjects, objections, the audit log) on both engines."""
    from creditscore.service.audit import audit_entry, query_audit, write_audits
    from creditscore.service.grading import GradeQuery, GradingService
    from creditscore.service.keys import NotAuthenticated, Role, create_key, revoke_key, verify_key
    from creditscore.settings import Settings
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    feeds = generate(SynthConfig(seed=5, n_firms=40, n_households=40)).write_files(tmp_path / "feeds")
    services = {}
    for name, url in (("postgres", postgres_url), ("sqlite", f"sqlite:///{tmp_path / 'lite.db'}")):
        store = Store(url)
        store.init()
        load_feeds(store, feeds)
        services[name] = GradingService(store, settings=Settings(data_dir=tmp_path, model_source="demo"))
    pg = services["postgres"].store
    firms = list(pg.records("enterprises")["uscc"].iloc[:5])
    heads = list(pg.records("households")["head_id"].iloc[:3])
    queries = [GradeQuery(f, dt.date(2024, 6, 30), "sme") for f in firms] + \
        [GradeQuery(h, dt.date(2024, 6, 30), "household") for h in heads] + \
        [GradeQuery("91350100M000100Y43", None, "sme")]
    on_pg, on_lite = (services[n].grade_many(queries) for n in ("postgres", "sqlite"))
    for a, b in zip(on_pg, on_lite, strict=True):
        if isinstance(a, Exception):
            assert type(a) is type(b)
            continue
        assert a.final_grade == b.final_grade
        assert a.pd == pytest.approx(b.pd, abs=1e-12)
        pd.testing.assert_frame_equal(pd.DataFrame([r.model_dump() for r in a.reasons]),
                                      pd.DataFrame([r.model_dump() for r in b.reasons]), rtol=1e-12)

    key = create_key(pg, "pg bank", Role.BANK)
    caller = verify_key(pg, key)
    assert (caller.institution, caller.role) == ("pg bank", Role.BANK)
    write_audits(pg, [audit_entry(caller=caller, request_id=f"pg-{i}", route="household_grade", status=200,
                                  subject_id=h, subject_type="household", purpose="test") for i, h in enumerate(heads)])
    assert len(query_audit(pg, institution="pg bank")) == len(heads)
    revoke_key(pg, key[:10])
    with pytest.raises(NotAuthenticated, match="revoked on 20"):
        verify_key(pg, key)
    pg.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET purpose = 'x' WHERE id = (SELECT MAX(id) FROM audit_log)",
    "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)",
    "TRUNCATE audit_log",
    "INSERT INTO audit_log (id, at, request_id, key_prefix, institution, role, route, status) "
    "SELECT MAX(id), now(), 'x', 'x', 'x', 'x', 'x', 200 FROM audit_log "
    "ON CONFLICT (id) DO UPDATE SET purpose = 'y'",
    "INSERT INTO audit_archives VALUES (1, 999999, 'x', 'x', 1, 'x', 'x', now())",
    "TRUNCATE audit_archives",
])
def test_postgres_refuses_every_rewrite_of_the_audit_log_and_the_chain_holds(postgres_url: str,
                                                                            statement: str) -> None:
    from sqlalchemy import text

    from creditscore.service.audit import write_audit
    from creditscore.service.keys import Caller, Role
    from creditscore.store.audit_chain import verify

    store = Store(postgres_url)
    store.init()
    caller = Caller(key_prefix="cs_pgchain", institution="pg chain bank", role=Role.BANK)
    for i in range(3):
        write_audit(store, caller=caller, request_id=f"pg-chain-{i}", route="test", status=200, purpose="loan")
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement))
    report = verify(store)
    assert report.ok, report.problems
    store.dispose()
