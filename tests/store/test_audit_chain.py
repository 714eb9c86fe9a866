"""The audit log cannot be quietly rewritten: every SQL path that changes a row is refused, and the hash chain
names any row changed, removed or inserted behind the triggers' back — across archives too."""

from __future__ import annotations

import datetime as dt
import gzip
import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from creditscore.service.audit import write_audit
from creditscore.service.keys import Caller, Role
from creditscore.store import Store
from creditscore.store.audit_chain import archive, verify

CALLER = Caller(key_prefix="cs_chain", institution="chain bank", role=Role.BANK)

REWRITES_SQLITE = [
    "UPDATE audit_log SET purpose = 'x' WHERE id = 2",
    "DELETE FROM audit_log WHERE id = 2",
    "DELETE FROM audit_log",
    "REPLACE INTO audit_log (id, at, request_id, key_prefix, institution, role, route, status) "
    "VALUES (2, '2020-01-01', 'x', 'x', 'x', 'x', 'x', 200)",
    "INSERT OR REPLACE INTO audit_log (id, at, request_id, key_prefix, institution, role, route, status) "
    "VALUES (2, '2020-01-01', 'x', 'x', 'x', 'x', 'x', 200)",
    "INSERT INTO audit_log (id, at, request_id, key_prefix, institution, role, route, status) "
    "VALUES (2, '2020-01-01', 'x', 'x', 'x', 'x', 'x', 200) ON CONFLICT(id) DO UPDATE SET purpose = 'y'",
    "UPDATE OR REPLACE audit_log SET id = 1 WHERE id = 2",
    "INSERT INTO audit_archives VALUES (1, 99, 'x', 'x', 1, 'x', 'x', '2020-01-01')",  # then delete all
]


def _log(store: Store, n: int, tag: str = "r") -> None:
    for i in range(n):
        write_audit(store, caller=CALLER, request_id=f"{tag}{i}", route="test", status=200, purpose=f"loan {i}")


@pytest.fixture
def logged(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'audit.db'}")
    store.init()
    _log(store, 5)
    return store


@pytest.mark.parametrize("statement", REWRITES_SQLITE)
def test_every_rewrite_is_refused_on_sqlite(logged: Store, statement: str) -> None:
    def attempt() -> None:
        with logged.engine.begin() as conn:
            conn.execute(text(statement))
            conn.execute(text("DELETE FROM audit_log"))  # after a forged archive entry, say

    with pytest.raises(Exception, match="append-only"):
        attempt()
    assert verify(logged).ok
    assert verify(logged).rows == 5


def _behind_the_triggers(store: Store, *statements: str) -> None:
    """What a superuser or whoever holds the file can do: drop the triggers, change rows, put them back."""
    with store.engine.begin() as conn:
        names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                                 "AND tbl_name = 'audit_log'"))]
        sql = [r[0] for r in conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                               "AND tbl_name = 'audit_log'"))]
        for name in names:
            conn.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            conn.execute(text(statement))
        for statement in sql:
            conn.execute(text(statement))


@pytest.mark.parametrize(("statements", "found"), [
    (["UPDATE audit_log SET purpose = 'marketing' WHERE id = 3"], "row 3 was changed"),
    (["UPDATE audit_log SET status = 404 WHERE id = 1"], "row 1 was changed"),
    (["DELETE FROM audit_log WHERE id = 3"], "rows 3–3 are missing"),
    (["DELETE FROM audit_log WHERE id = 5"], None),  # the last row: caught by the count below
    (["UPDATE audit_log SET id = id + 100 WHERE id = 4"], "missing"),
    (["INSERT INTO audit_log (id, at, request_id, key_prefix, institution, role, route, status, prev_hash, row_hash) "
      "SELECT 6, at, 'forged', key_prefix, institution, role, route, status, row_hash, row_hash FROM audit_log "
      "WHERE id = 5"], "row 6 was changed"),
])
def test_verify_names_a_row_changed_removed_or_inserted_behind_the_triggers(logged: Store, statements: list[str],
                                                                           found: str | None) -> None:
    before = verify(logged)
    _behind_the_triggers(logged, *statements)
    after = verify(logged)
    if found is None:  # a truncated tail is only visible against what was seen before: operators keep the count
        assert after.ok
        assert after.rows == before.rows - 1
        return
    assert not after.ok
    assert any(found in p for p in after.problems), after.problems


def test_archives_keep_the_chain_and_are_checked(logged: Store, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    path = archive(logged, folder, older_than=dt.timedelta(0))
    assert path is not None
    assert path.name == "audit-000000000001-000000000005.jsonl.gz"
    with logged.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one() == 0
    _log(logged, 3, "later")
    report = verify(logged, folder)
    assert report.ok, report.problems
    assert (report.rows, report.archives) == (8, 1)
    with pytest.raises(Exception, match="append-only"), logged.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 6"))  # not archived: still refused

    lines = gzip.decompress(path.read_bytes()).decode().replace('"loan 2"', '"loan 9"')
    path.write_bytes(gzip.compress(lines.encode()))
    problems = verify(logged, folder).problems
    assert any("changed after it was written" in p for p in problems), problems
    path.unlink()
    assert any("is missing" in p for p in verify(logged, folder).problems)


def test_nothing_to_archive_writes_nothing(logged: Store, tmp_path: Path) -> None:
    assert archive(logged, tmp_path / "archive", older_than=dt.timedelta(days=30)) is None
    assert not (tmp_path / "archive").exists()


def _append_from_another_process(url: str, tag: str) -> None:
    store = Store(url)
    for i in range(40):
        write_audit(store, caller=CALLER, request_id=f"{tag}{i}", route="test", status=200)


def _fresh_database(postgres_url: str, name: str) -> str:
    """A new, empty database on the test server (the session's server is shared by every PostgreSQL test)."""
    import psycopg

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        url = _fresh_database(request.getfixturevalue("postgres_url"), "audit_chain_test")
    store = Store(url)
    store.init()
    store.dispose()
    return url


def test_two_processes_appending_at_once_keep_one_chain(empty_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_from_another_process, args=(empty_url, tag)) for tag in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    store = Store(empty_url)
    report = verify(store)
    assert report.ok, report.problems
    assert report.rows == 80
    with store.engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
    assert ids == list(range(1, 81))
    store.dispose()


def test_a_failed_append_leaves_nothing_and_releases_the_chain(empty_url: str) -> None:
    """A row the database refuses (here: a route longer than its column on PostgreSQL, a NULL status on both)
    rolls the whole batch back — none of its rows is kept — and the next append, from the same process, is not
    left waiting on the lock the failed one took."""
    from creditscore.service.audit import audit_entry, write_audits

    store = Store(empty_url)
    _log(store, 2)
    good = audit_entry(caller=CALLER, request_id="ok", route="test", status=200)
    bad = {**audit_entry(caller=CALLER, request_id="bad", route="test", status=200), "status": None}
    with pytest.raises(Exception, match=r"(?i)null"):
        write_audits(store, [good, bad])
    _log(store, 2, tag="after")
    report = verify(store)
    assert report.ok, report.problems
    with store.engine.connect() as conn:
        kept = conn.execute(text("SELECT request_id FROM audit_log ORDER BY id")).scalars().all()
    assert kept == ["r0", "r1", "after0", "after1"]
    store.dispose()


def test_the_operator_verifies_and_archives_from_the_command_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from creditscore.cli import app

    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CREDITSCORE_DATABASE_URL", raising=False)
    store = Store.from_settings()
    store.init()
    _log(store, 4)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "holds" in ok.output
    archived = runner.invoke(app, ["audit", "archive", "--older-than-days", "1"])
    assert "no audit row is older than 1 days" in archived.output
    _behind_the_triggers(store, "UPDATE audit_log SET purpose = 'x' WHERE id = 2")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "row 2 was changed" in broken.output
