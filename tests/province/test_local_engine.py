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
from tests.helpers import frame_text, full_resident_ids, synthetic_service

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
        assert not full_resident_ids(frame_text(out.reset_index()))


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
    assert (out / "_plan").stat().st_mode & 0o077 == 0  # the killed run's plan: kept for the resume, owner only
    summary = grade_all(service.store, "sme", AS_OF, out, partitions=24, workers=2, key=KEY)
    assert summary.done_before >= len(written)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert len(after) == 24
    assert all(after[name] == stamp for name, stamp in written.items())  # none written twice
    assert not (out / "_plan").exists()  # the subjects' ids go once every partition is written
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
    places = households.drop_duplicates("head_id")
    assert (places["village_code"].str[:9] == places["township_code"]).all()
    assert (places["township_code"].str[:6] == places["county_code"]).all()
    assert (places["county_code"] == places["head_id"].str[:6]).sum() > 0  # the chunk's county
    per_chunk_villages = [set(pd.read_parquet(p)["village_code"])
                          for p in sorted((tmp_path / "feeds" / "households").iterdir())]
    assert not per_chunk_villages[0] & per_chunk_villages[1]  # no village in two chunks
    again = write_province_feeds(tmp_path / "side-by-side", households=300, firms=80, chunk_households=150, seed=5,
                                 workers=2)
    assert again == written  # chunks written by two processes: the same feeds
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "side-by-side" / "households"), households)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("subject_key").reset_index(drop=True)


@pytest.mark.parametrize("segment", [Segment.SME, Segment.HOUSEHOLD])
def test_parquet_feeds_grade_exactly_as_the_store(service: GradingService, tmp_path: Path, segment: Segment) -> None:
    """The same records from a warehouse's Parquet feeds (read a record batch at a time into per-partition
    files) or from the store: the same output."""
    from creditscore.province.spark import export_records, kinds_for
    from creditscore.service.models import current_scorers

    export_records(service.store, kinds_for(current_scorers(service.store)[segment]), tmp_path / "feeds")
    from_store = grade_all(service.store, segment, AS_OF, tmp_path / "store", partitions=4, key=KEY)
    from_feeds = grade_all(service.store, segment, AS_OF, tmp_path / "feeds-run", partitions=4, key=KEY,
                           feeds=tmp_path / "feeds")
    assert from_feeds.rows == from_store.rows > 0
    pd.testing.assert_frame_equal(_sorted(_all(tmp_path / "store")), _sorted(_all(tmp_path / "feeds-run")))
    assert from_feeds.grades == from_store.grades
    if segment is Segment.HOUSEHOLD:
        pd.testing.assert_frame_equal(from_feeds.villages, from_store.villages)


def test_villages_assessed_from_partitions_as_in_one_piece(service: GradingService, tmp_path: Path) -> None:
    """Partition sums add up: the run's 信用村 table equals the assessment of every household at once (the
    ``creditscore villages`` path), whatever the number of partitions."""
    from creditscore.rural.villages import assess_villages
    from creditscore.service.models import current_scorers

    policy = current_scorers(service.store)[Segment.HOUSEHOLD].policy
    runs = {n: grade_all(service.store, "household", AS_OF, tmp_path / f"p{n}", partitions=n, key=KEY)
            for n in (1, 6)}
    pd.testing.assert_frame_equal(runs[1].villages, runs[6].villages)
    pd.testing.assert_frame_equal(runs[1].townships, runs[6].townships)
    surveys = service.store.records("households", as_of=AS_OF).sort_values("surveyed_on")
    heads = surveys["head_id"].astype(str).unique()
    by_key = dict(zip(pseudonym(list(heads), KEY), heads, strict=True))
    out = _all(tmp_path / "p6")
    grades = pd.Series(out["final_grade"].to_numpy(), index=out["subject_key"].map(by_key))
    villages, townships = assess_villages(grades, surveys.drop_duplicates("head_id", keep="last"),
                                          service.store.records("loans"), service.store.records("delinquencies"),
                                          as_of=AS_OF, policy=policy)
    pd.testing.assert_frame_equal(runs[6].villages, villages, check_dtype=False)
    pd.testing.assert_frame_equal(runs[6].townships, townships, check_dtype=False)
    assert runs[6].villages["households"].sum() == len(out)
    assert (tmp_path / "p6" / "villages.parquet").is_file()


def test_a_feeds_plan_killed_half_written_is_made_again(service: GradingService, tmp_path: Path) -> None:
    from creditscore.province.spark import export_records, kinds_for
    from creditscore.service.models import current_scorers

    export_records(service.store, kinds_for(current_scorers(service.store)[Segment.SME]), tmp_path / "feeds")
    out = tmp_path / "out"
    torn = out / "_plan" / "enterprises"
    torn.mkdir(parents=True)
    (torn / "part-00000.parquet").write_bytes(b"PAR1 torn")  # a plan killed mid-write: no plan.json
    summary = grade_all(service.store, "sme", AS_OF, out, partitions=3, key=KEY, feeds=tmp_path / "feeds")
    assert summary.rows == service.store.records("enterprises", as_of=AS_OF)["uscc"].nunique()
    first = (out / "part-00001.parquet").stat().st_mtime_ns
    (out / "part-00002.parquet").unlink()
    again = grade_all(service.store, "sme", AS_OF, out, partitions=3, key=KEY, feeds=tmp_path / "feeds")
    assert (again.done_before, (out / "part-00001.parquet").stat().st_mtime_ns) == (2, first)
    with pytest.raises(Exception, match="no such folder"):
        grade_all(service.store, "sme", AS_OF, tmp_path / "o2", key=KEY, feeds=tmp_path / "nowhere")


def test_the_cli_reads_feeds_and_assesses_villages(service: GradingService, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from creditscore.cli import app
    from creditscore.synth.province import write_province_feeds

    write_province_feeds(tmp_path / "feeds", households=300, firms=0, chunk_households=150, seed=3)
    monkeypatch.setenv("CREDITSCORE_DATABASE_URL", service.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["grade-all", "--segment", "household", "--as-of", "2024-06-30", "--out",
                                      str(tmp_path / "out"), "--partitions", "3", "--feeds", str(tmp_path / "feeds")])
    assert result.exit_code == 0, result.output
    assert "credit villages (信用村)" in result.output
    villages = pd.read_parquet(tmp_path / "out" / "villages.parquet")
    assert villages["households"].sum() == len(_all(tmp_path / "out"))
    assert not (tmp_path / "out" / "_plan").exists()  # the feeds' rows split by partition: gone with the run
    for path in (tmp_path / "out").rglob("*"):  # no full ID anywhere in what the run leaves
        if path.suffix == ".parquet":
            assert not full_resident_ids(frame_text(pd.read_parquet(path))), path
        elif path.is_file():
            assert not full_resident_ids(path.read_text(errors="replace")), path
    missing = CliRunner().invoke(app, ["grade-all", "--segment", "household", "--out", str(tmp_path / "o"),
                                       "--feeds", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "no such folder" in " ".join(missing.output.replace("│", " ").split())
