"""Province scale, local engine: the partition function agrees with the single-subject path, partitions are
stable, outputs are atomic, and a killed run resumes without writing a partition twice."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from creditscore.province import part_of
from creditscore.province.local import grade_all
from creditscore.province.partition import pseudonym
from creditscore.records.ids import mask_resident_id
from creditscore.records.subjects import Segment
from creditscore.service.grading import GradingService
from tests.helpers import synthetic_service

AS_OF = dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradingService]:
    service = synthetic_service(tmp_path_factory.mktemp("province"), seed=23, firms=300, households=400)
    yield service
    service.store.dispose()


def _all(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))], ignore_index=True)


def test_partitions_are_stable_and_spread() -> None:
    ids = [f"9141088200000{i:05d}" for i in range(10_000)]
    first, again = part_of(ids, 16), part_of(list(reversed(ids)), 16)[::-1]
    assert (first == again).all()
    counts = pd.Series(first).value_counts()
    assert len(counts) == 16
    assert counts.min() > 500  # roughly even


@pytest.mark.parametrize("segment", [Segment.SME, Segment.HOUSEHOLD])
def test_every_subject_gets_what_the_single_subject_path_gives(service: GradingService, tmp_path: Path,
                                                               segment: Segment) -> None:
    summary = grade_all(service.store, segment, AS_OF, tmp_path / "out", partitions=5, workers=2, key=KEY)
    out = _all(tmp_path / "out").set_index("subject_key")
    assert summary.rows == len(out)
    assert sum(summary.grades.values()) == len(out)
    known = service.store.records(segment.subject_kind, as_of=AS_OF)[KIND_ID[segment]].nunique()
    assert len(out) == known  # everyone known on the as-of date, and no one founded or surveyed later
    assert out.index.is_unique
    ids = service.store.records(segment.subject_kind, as_of=AS_OF)[KIND_ID[segment]].astype(str).unique()
    for subject in ids[:: max(len(ids) // 12, 1)]:
        alone = service.grade(subject, as_of=AS_OF, expected=segment)
        key = pseudonym([subject], KEY)[0] if segment is Segment.HOUSEHOLD else subject
        row = out.loc[key]
        assert row["subject"] == (mask_resident_id(subject) if segment is Segment.HOUSEHOLD else subject)
        assert row["final_grade"] == alone.final_grade
        assert row["model_grade"] == alone.model_grade
        assert row["pd"] == pytest.approx(alone.pd, abs=1e-9)
        assert row["reasons_zh"] == "；".join(r.text_zh for r in alone.reasons if r.kind == "adverse")
    if segment is Segment.HOUSEHOLD:  # no full ID anywhere in the output
        text = out.reset_index()[["subject_key", "subject", "reasons_zh", "overrides", "reason_codes"]]
        assert not text.apply(lambda c: c.astype(str).str.contains(r"(?<!\d)\d{17}[\dX](?!\d)")).any().any()


KIND_ID = {Segment.SME: "uscc", Segment.HOUSEHOLD: "head_id"}
KEY = b"test pseudonym key"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
            except OSError:
                continue
            if int(stat[3]) == pid:
                found.append(int(entry.name))
    return found


def _run(url: str, out: str) -> None:
    from creditscore.store import Store

    grade_all(Store(url), "sme", AS_OF, out, partitions=24, workers=1, key=KEY)


def test_a_killed_run_resumes_and_never_writes_a_partition_twice(service: GradingService, tmp_path: Path) -> None:
    out = tmp_path / "run"
    url = service.store.engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_run, args=(url, str(out)))
    child.start()
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 6:  # let it get some way, then kill it
        assert time.monotonic() < deadline, "the run wrote nothing"
        assert child.is_alive(), "the run ended before it could be killed"
        time.sleep(0.05)
    for pid in _children(child.pid):  # the run and its pool's workers, as a kill -9 of the job would
        os.kill(pid, signal.SIGKILL)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    time.sleep(0.5)
    written = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert 0 < len(written) < 24
    summary = grade_all(service.store, "sme", AS_OF, out, partitions=24, workers=2, key=KEY)
    assert summary.done_before >= len(written)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert len(after) == 24
    assert all(after[name] == stamp for name, stamp in written.items())  # none written twice
    assert not list(out.glob("*.partial"))
    whole = _all(out)
    fresh = grade_all(service.store, "sme", AS_OF, tmp_path / "fresh", partitions=24, workers=2, key=KEY)
    pd.testing.assert_frame_equal(whole.sort_values("subject_key").reset_index(drop=True),
                                  _all(tmp_path / "fresh").sort_values("subject_key").reset_index(drop=True))
    assert fresh.rows == len(whole)
    with pytest.raises(Exception, match="another folder"):
        grade_all(service.store, "sme", AS_OF, out, partitions=12, key=KEY)


def test_the_cli_grades_everyone_and_prints_a_summary(service: GradingService, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from creditscore.cli import app

    monkeypatch.setenv("CREDITSCORE_DATABASE_URL", service.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["grade-all", "--segment", "household", "--as-of", "2024-06-30", "--out",
                                      str(tmp_path / "out"), "--partitions", "3"])
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) == 3
    wrong = CliRunner().invoke(app, ["grade-all", "--segment", "sme", "--out", str(tmp_path / "s"),
                                     "--engine", "dask"])
    assert wrong.exit_code == 2


def test_the_province_generator_writes_chunks_whose_identifiers_never_repeat(tmp_path: Path) -> None:
    from creditscore.records.ids import validate_resident_id, validate_uscc
    from creditscore.synth.province import write_province_feeds

    done = []
    written = write_province_feeds(tmp_path / "feeds", households=300, firms=80, chunk_households=150, seed=5,
                                   progress=lambda n, total: done.append((n, total)))
    assert done == [(1, 2), (2, 2)]
    households = pd.read_parquet(tmp_path / "feeds" / "households")
    firms = pd.read_parquet(tmp_path / "feeds" / "enterprises")
    assert written["enterprises"] == len(firms) == 80
    heads = households.drop_duplicates("head_id")["head_id"]
    assert heads.map(validate_resident_id).eq(heads).all()  # every ID valid after the move
    assert firms["uscc"].is_unique
    assert firms["uscc"].map(validate_uscc).eq(firms["uscc"]).all()
    per_chunk = [set(pd.read_parquet(p)["head_id"]) for p in sorted((tmp_path / "feeds" / "households").iterdir())]
    assert not per_chunk[0] & per_chunk[1]  # no person in two chunks
    court = pd.read_parquet(tmp_path / "feeds" / "court_listings")
    known = set(heads) | set(firms["uscc"])
    assert set(court["subject_id"]) <= known  # records moved with their subjects
