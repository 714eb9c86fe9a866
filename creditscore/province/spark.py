"""The Spark engine: the same partition function through ``mapInPandas``, for a warehouse's Spark (YARN).

Input is the records as typed Parquet tables, one folder per kind (what a data warehouse holds;
:func:`export_records` writes them from the store). Every kind's rows get their subject's partition from Spark
SQL's ``crc32`` — the same CRC-32 the local engine computes — and travel as JSON in one table repartitioned by
partition, so each task holds whole partitions and grades them with
:func:`~creditscore.province.partition.grade_partition`. The scorer (model bundle, catalogue, policy) is broadcast
and deserialised once per Python worker; LightGBM runs single-threaded in a task (Spark's cores are the
parallelism). Objections are keyed by record, not subject: they are broadcast whole.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from creditscore.province.partition import grade_partition, output_columns, output_types
from creditscore.records.contracts import KINDS, FieldType
from creditscore.records.subjects import Segment
from creditscore.store import Store
from creditscore.store.db import typed_frame
from creditscore.synth.province import as_dates

__all__ = ["export_records", "grade_all_spark", "kinds_for", "schema", "session", "village_sums"]

def schema(segment: Segment) -> str:
    """The Spark schema of a segment's output, from :func:`~creditscore.province.partition.output_types`."""
    return ", ".join(f"{name} {kind}" for name, kind in output_types(segment).items())


def session(master: str | None = None, app_name: str = "creditscore") -> object:
    """A Spark session whose Python workers run this interpreter (with this environment's packages): left to
    itself, Spark starts ``python3`` from the PATH — on a machine where that is another Python, every task fails
    importing pandas. On a cluster, ``spark-submit`` passes the packed environment's Python the same way."""
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).config("spark.sql.session.timeZone", "UTC")
    if master:
        builder = builder.master(master).config("spark.pyspark.python", sys.executable) \
            .config("spark.pyspark.driver.python", sys.executable)
    return builder.getOrCreate()


def kinds_for(scorer: object) -> list[str]:
    """The record kinds a segment's grading reads (its catalogue's sources and its subject table)."""
    return sorted(scorer.catalogue.sources() | {scorer.segment.subject_kind})


def export_records(store: Store, kinds: list[str], folder: str | Path) -> dict[str, Path]:
    """The store's records of ``kinds`` (and objections) as typed Parquet, one folder per kind."""
    folder = Path(folder)
    out = {}
    for kind in [*kinds, "objections"]:
        target = folder / kind
        target.mkdir(parents=True, exist_ok=True)
        frame = store.records(kind)
        for f in KINDS[kind].fields:  # dates as Parquet date32, even all empty: no time zone for Spark to apply
            if f.type in (FieldType.DATE, FieldType.MONTH) and f.name in frame:
                frame[f.name] = as_dates(frame[f.name])
        frame.to_parquet(target / "part-0.parquet", index=False)
        out[kind] = target
    return out


def _grader(scorer_b: object, objections_b: object, as_of: str, key: bytes, columns: list[str]):
    def grade(batches):
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # Spark's cores are the parallelism, not LightGBM's
        scorer = scorer_b.value  # deserialised once per Python worker and broadcast
        objections = objections_b.value
        batches = list(batches)  # the task's whole partitions: memory bounded by the partition size
        if not batches:
            return
        frame = pd.concat(batches, ignore_index=True)
        for _, part in frame.groupby("part", sort=True):
            records = {"objections": objections}
            for kind, rows in part.groupby("kind"):
                raw = pd.read_json(pd.io.common.StringIO("[" + ",".join(rows["row"]) + "]"), dtype=False,
                                   convert_dates=False)
                records[kind] = typed_frame(KINDS[kind], raw)
            if scorer.segment.subject_kind not in records:
                continue
            for kind in kinds_for(scorer):
                records.setdefault(kind, typed_frame(KINDS[kind], pd.DataFrame()))
            # everyone the partition's subject table knew on the as-of date, as the local engine's plan
            yield grade_partition(scorer, records, dt.date.fromisoformat(as_of), key=key)[columns]

    return grade


def grade_all_spark(spark: object, scorer: object, feeds: str | Path, as_of: dt.date, out: str | Path, *,
                    partitions: int, key: bytes) -> int:
    """Grade everyone in the feeds as of ``as_of`` on ``spark``; writes Parquet to ``out``, returns the rows."""
    from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

    feeds = str(feeds).rstrip("/")  # a local folder, or hdfs:// / s3a:// on a cluster: joined as text, not Path
    tables = []
    for kind in kinds_for(scorer):
        df = spark.read.parquet(f"{feeds}/{kind}")
        column = KINDS[kind].subject_column
        tables.append(df.select(
            (F.crc32(F.col(column).cast("string").cast("binary")) % partitions).cast("int").alias("part"),
            F.lit(kind).alias("kind"),
            F.to_json(F.struct(*[F.col(c) for c in df.columns]), {"ignoreNullFields": "false"}).alias("row")))
    combined = tables[0]
    for table in tables[1:]:
        combined = combined.unionByName(table)
    objections = typed_frame(KINDS["objections"], spark.read.parquet(f"{feeds}/objections").toPandas())
    sc = spark.sparkContext
    grader = _grader(sc.broadcast(scorer), sc.broadcast(objections), as_of.isoformat(), key,
                     output_columns(scorer.segment))
    result = combined.repartition(partitions, "part").mapInPandas(grader, schema=schema(scorer.segment))
    result.write.mode("overwrite").parquet(str(out))
    return spark.read.parquet(str(out)).count()



def village_sums(graded: object) -> pd.DataFrame:
    """Per-village sums of a household run's output (the same as the local engine's, computed by Spark): the
    villages' table is small (tens of thousands of rows) and comes back to the driver to be assessed."""
    from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

    from creditscore.rural.villages import PLACE

    return graded.groupBy(*PLACE).agg(
        F.count(F.lit(1)).alias("households"),
        F.sum(F.col("credit_household").cast("long")).alias("credit_households"),
        F.sum(F.col("borrower").cast("long")).alias("borrowers"),
        F.sum(F.col("late").cast("long")).alias("late_borrowers"),
        F.sum("outstanding_yuan").alias("outstanding_yuan"),
        F.sum("npl_yuan").alias("npl_yuan")).toPandas()
