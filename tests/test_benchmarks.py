"""The benchmarks run end to end at a small size, with their optional extras (``peers``, ``bench``).

A benchmark that has rotted is found when someone needs its figures; run here, it is found the day it breaks.
The figures themselves are not judged (a shared 2-core machine), only that the run completes and its checks hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _extras(*modules: str) -> None:
    """Skip without the benchmark's extra, except where it must run (CI sets CREDITSCORE_REQUIRE_EXTRAS)."""
    for module in modules:
        if os.environ.get("CREDITSCORE_REQUIRE_EXTRAS"):
            __import__(module)
        else:
            pytest.importorskip(module)


def _run(script: str, *args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CREDITSCORE_DATABASE_URL", None)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_peers_benchmark_compares_every_family_with_every_peer(tmp_path: Path) -> None:
    _extras("toad", "scorecardpy")
    from benchmarks.peers import MODELS

    said = _run("peers.py", "--firms", "3000", "--folds", "2", "--fold-seeds", "0", "1", "--out", str(tmp_path),
                cwd=tmp_path)
    results = json.loads((tmp_path / "peers.json").read_text())
    assert list(results) == ["German Credit", "synthetic firms (3,000)"]
    for dataset, rows in results.items():
        assert [r["model"] for r in rows] == list(MODELS), dataset  # a peer that fails is a row with its error
        for r in rows:
            assert ("error" in r) != ("auc" in r), r
            if "auc" in r:
                assert 0.5 < r["auc"] <= 1, r
                assert set(r["auc_by_seed"]) == {"0", "1"}, r  # every fold of both fold seeds
                assert r["auc"] == pytest.approx(sum(r["auc_by_seed"].values()) / 2), r
                assert 0 < r["brier"] < 0.5, r
                assert r["rows_per_s"] > 0, r
        ours = {r["model"]: r for r in rows if r["model"].startswith("creditscore")}
        assert all("auc" in r and r["auc"] > 0.7 for r in ours.values()), ours
    assert "creditscore blend" in said


def test_the_province_benchmark_grades_resumes_and_compares_the_joins(tmp_path: Path) -> None:
    _extras("duckdb", "polars")
    _run("province.py", "--households", "3000", "--firms", "300", "--partitions", "4", "--engines", "local",
         "--folder", str(tmp_path / "run"), "--out", str(tmp_path), cwd=tmp_path)
    (row,) = json.loads((tmp_path / "province.json").read_text())
    assert row["local"]["rows"] > 2500  # households known on the date
    assert row["resume"]["identical"] is True
    assert row["point_in_time"]["duckdb_agrees"] is True
    assert row["point_in_time"]["polars_agrees"] is True
    assert row["sme_local"]["rows"] > 50
    assert not (tmp_path / "run" / "3000").exists()  # the feeds and outputs are removed unless --keep
