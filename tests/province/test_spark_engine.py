"""The Spark engine on local[2]: the same partition function through mapInPandas, output identical to the local
engine's on the same records (CI installs Java 17 and the spark extra and requires this test)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from creditscore.province.local import grade_all
from creditscore.records.subjects import Segment
from creditscore.service.grading import GradingService
from creditscore.service.models import current_scorers
from tests.helpers import synthetic_service

if shutil.which("java") is None or __import__("importlib.util").util.find_spec("pyspark") is None:
    if os.environ.get("CREDITSCORE_REQUIRE_SPARK"):
        raise RuntimeError("the Spark tests need Java 17 and pyspark (pip install '.[spark]')")
    pytest.skip("no Java or no pyspark here (CI has both)", allow_module_level=True)

AS_OF = dt.date(2024, 6, 30)
KEY = b"spark test key"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradingService]:
    service = synthetic_service(tmp_path_factory.mktemp("spark"), seed=29, firms=150, households=200)
    yield service
    service.store.dispose()


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    from creditscore.province.spark import session

    spark_session = session("local[2]", "creditscore-tests")
    spark_session.conf.set("spark.sql.shuffle.partitions", "4")
    yield spark_session
    spark_session.stop()


@pytest.mark.parametrize("segment", [Segment.SME, Segment.HOUSEHOLD])
def test_spark_grades_exactly_as_the_local_engine(service: GradingService, spark: object, tmp_path: Path,
                                                  segment: Segment) -> None:
    from creditscore.province.spark import export_records, grade_all_spark, kinds_for

    scorer = current_scorers(service.store)[segment]
    export_records(service.store, kinds_for(scorer), tmp_path / "feeds")
    local = grade_all(service.store, segment, AS_OF, tmp_path / "local", partitions=4, workers=2, key=KEY)
    rows = grade_all_spark(spark, scorer, tmp_path / "feeds", AS_OF, tmp_path / "spark", partitions=4, key=KEY)
    assert rows == local.rows
    a = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "local").glob("part-*.parquet"))])
    b = pd.read_parquet(tmp_path / "spark")
    pd.testing.assert_frame_equal(a.sort_values("subject_key").reset_index(drop=True),
                                  b.sort_values("subject_key").reset_index(drop=True), check_dtype=False)
    if segment is Segment.HOUSEHOLD:  # the villages' sums Spark adds up are the local engine's
        from creditscore.province.partition import village_summary
        from creditscore.province.spark import village_sums

        villages, _ = village_summary(village_sums(spark.read.parquet(str(tmp_path / "spark"))), scorer.policy)
        pd.testing.assert_frame_equal(villages, local.villages, check_dtype=False)


def test_spark_grades_a_generated_province(spark: object, tmp_path: Path, service: GradingService) -> None:
    """The province generator's feeds are what the Spark engine reads: everyone surveyed by the date graded once."""
    from creditscore.province.spark import grade_all_spark
    from creditscore.synth.province import write_province_feeds

    write_province_feeds(tmp_path / "feeds", households=240, firms=40, chunk_households=120, seed=8)
    scorer = current_scorers(service.store)[Segment.HOUSEHOLD]
    rows = grade_all_spark(spark, scorer, tmp_path / "feeds", AS_OF, tmp_path / "out", partitions=3, key=KEY)
    surveys = pd.read_parquet(tmp_path / "feeds" / "households")
    known = surveys[pd.to_datetime(surveys["surveyed_on"]) <= pd.Timestamp(AS_OF)]["head_id"].nunique()
    assert rows == known
    assert pd.read_parquet(tmp_path / "out")["subject_key"].is_unique


def test_the_cli_runs_the_spark_engine(service: GradingService, spark: object, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI stops its Spark session when done (the shared one here): this and the next test come last."""
    from typer.testing import CliRunner

    from creditscore.cli import app

    monkeypatch.setenv("CREDITSCORE_DATABASE_URL", service.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["grade-all", "--segment", "sme", "--as-of", "2024-06-30", "--out",
                                      str(tmp_path / "out"), "--partitions", "3", "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert "graded on Spark" in result.output
    assert not [p for p in (tmp_path / "out").iterdir() if p.name != "grades"]  # the exported records removed
    assert len(pd.read_parquet(tmp_path / "out" / "grades")) == len(service.store.records("enterprises",
                                                                                           as_of=AS_OF))


def test_the_spark_submit_entry_point_with_a_shipped_bundle(service: GradingService, spark: object,
                                                            tmp_path: Path) -> None:
    """What a cluster runs (spark-submit creditscore/province/submit.py): the demo bundle shipped with the job,
    feeds from a folder, the key from a file. Last in this module: it stops the Spark session when done."""
    from creditscore.modeling.bundle import DEMO_BUNDLES
    from creditscore.province import submit
    from creditscore.province.spark import export_records, kinds_for

    scorer = current_scorers(service.store)[Segment.SME]
    export_records(service.store, kinds_for(scorer), tmp_path / "feeds")
    (tmp_path / "key").write_bytes(KEY)
    submit.main(["--feeds", str(tmp_path / "feeds"), "--segment", "sme", "--as-of", "2024-06-30", "--out",
                 str(tmp_path / "out"), "--partitions", "3", "--key-file", str(tmp_path / "key"),
                 "--bundle", str(DEMO_BUNDLES / "sme")])
    graded = pd.read_parquet(tmp_path / "out")
    assert len(graded) == len(service.store.records("enterprises", as_of=AS_OF))
    assert graded["subject_key"].is_unique
