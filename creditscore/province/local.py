"""The local engine: everyone in the store graded as of a date, partition by partition, in a process pool.

1. **Plan.** From the store, the subject table's ids are streamed in chunks and each is written to its
   partition's list (``_plan/part-00007.txt``). From Parquet feeds (one folder per record kind, as a warehouse
   holds them and the province generator writes them), every kind's rows are streamed in record batches and
   appended to their partition's file (``_plan/<kind>/part-00007.parquet``). Either way the parent never holds the
   population: one batch at a time.
2. **Grade.** Each partition is one task: its subjects' records read from the store with bounded ``IN`` lists or
   from its plan files, graded by :func:`~creditscore.province.partition.grade_partition`, written to
   ``part-00007.parquet`` through a temporary file renamed into place — a partition's output exists whole or not
   at all. Households' partitions also write their villages' sums (``villages/part-00007.parquet``, before the
   grades), from which the run's 信用村 / 信用乡镇 assessment is made.
3. **Resume.** A run finds the partitions already written and grades only the others, so a killed run picks up
   where it stopped and never writes a partition twice. The plan records its as-of date, segment and partition
   count; a resume with other settings is refused rather than mixing two runs in one folder.

Memory is bounded by the partition size: choose ``partitions`` so that one partition's records fit a worker.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sqlalchemy import select

from creditscore.errors import InvalidValue
from creditscore.province.partition import grade_partition, part_of, village_summary, village_sums_of
from creditscore.records.contracts import KINDS
from creditscore.records.subjects import Segment
from creditscore.store import Store
from creditscore.store.db import typed_frame
from creditscore.store.tables import record_table

__all__ = ["Progress", "RunSummary", "grade_all"]

Progress = Callable[[int, int, int], None]  # (partitions done, partitions in all, rows graded so far)


@dataclass(frozen=True)
class RunSummary:
    partitions: int
    done_before: int  # partitions found written (a resumed run)
    rows: int
    seconds: float
    grades: dict[str, int]
    villages: pd.DataFrame | None = None  # households: the run's 信用村 assessment (also villages.parquet)
    townships: pd.DataFrame | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _claim(out: Path, meta: dict[str, object]) -> None:
    """``run.json`` says which run a folder holds: a run with other settings is refused, not mixed in."""
    path = out / "run.json"
    if path.is_file():
        before = json.loads(path.read_text())
        if before != meta:
            raise InvalidValue(f"{out} holds a run of {before}; this run is {meta}: use another folder")
        return
    path.write_text(json.dumps(meta))


def _private(plan: Path) -> Path:
    """The plan folder, readable by its owner only: it holds the subjects' identifiers until the run ends."""
    plan.mkdir(parents=True, exist_ok=True)
    os.chmod(plan, 0o700)
    return plan


def _plan(store: Store, segment: Segment, out: Path, partitions: int, as_of: dt.date) -> None:
    plan = out / "_plan"
    if (plan / "plan.json").is_file():
        return
    _private(plan)
    kind = KINDS[segment.subject_kind]
    table = record_table(kind)
    column = table.c[kind.subject_column]
    handles = [(plan / f"part-{k:05d}.txt").open("w", encoding="utf-8") for k in range(partitions)]
    try:
        with store.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=50_000).execute(
                select(column).distinct().where(table.c[kind.event_date] <= as_of))  # known on the as-of date
            for chunk in result.partitions(50_000):
                ids = [str(r[0]) for r in chunk]
                for subject, k in zip(ids, part_of(ids, partitions), strict=True):
                    handles[k].write(subject + "\n")
    finally:
        for h in handles:
            h.close()
    (plan / "plan.json").write_text("{}")  # the plan is whole


def _feed_schema(files: list[Path]) -> pa.Schema:
    """One schema for a kind's files: a column all empty in one chunk comes out typeless (``null``) there."""
    return pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")


def _plan_feeds(feeds: Path, kinds: list[str], segment: Segment, out: Path, *, partitions: int,
                as_of: dt.date) -> None:
    """Each kind's rows appended to their partition's Parquet file, a record batch at a time."""
    plan = out / "_plan"
    if (plan / "plan.json").is_file():
        return
    if plan.exists():  # a plan killed half-written: made again from the start
        shutil.rmtree(plan)
    _private(plan)
    for kind in kinds:
        files = sorted((feeds / kind).glob("*.parquet")) if (feeds / kind).is_dir() else []
        if not files:
            if kind == segment.subject_kind:
                raise InvalidValue(f"{feeds / kind}: no Parquet files — the subject table is needed")
            continue
        column = KINDS[kind].subject_column
        schema = _feed_schema(files)
        (plan / kind).mkdir(parents=True, exist_ok=True)
        writers: dict[int, pq.ParquetWriter] = {}
        try:
            # one batch in memory at a time: the scanner's default read-ahead (16 batches, 4 files) held GBs
            scanner = ds.dataset(files, schema=schema, format="parquet").to_batches(
                batch_size=_BATCH, batch_readahead=0, fragment_readahead=0)
            for batch in scanner:
                if not batch.num_rows:
                    continue
                parts = part_of(batch.column(column).to_pylist(), partitions)
                order = np.argsort(parts, kind="stable")
                table = pa.Table.from_batches([batch]).take(pa.array(order))
                bounds = np.searchsorted(parts[order], np.arange(partitions + 1))
                for k in np.flatnonzero(np.diff(bounds)):
                    if k not in writers:
                        writers[k] = pq.ParquetWriter(plan / kind / f"part-{k:05d}.parquet", schema)
                    writers[k].write_table(table.slice(bounds[k], bounds[k + 1] - bounds[k]))
        finally:
            for w in writers.values():
                w.close()
    (plan / "plan.json").write_text("{}")  # the plan is whole


_BATCH = 500_000  # rows of a feed read at a time while planning
_WORKER: dict[str, object] = {}


def _init(store_url: str, segment: str, key: bytes, feeds: str | None) -> None:
    """Once per worker process: its own store connection and the served model, loaded once."""
    from creditscore.service.models import current_scorers

    store = Store(store_url)
    objections = None
    if feeds is not None:  # keyed by record, not subject: every partition reads them whole
        files = sorted((Path(feeds) / "objections").glob("*.parquet"))
        objections = typed_frame(KINDS["objections"], pd.read_parquet(files) if files else pd.DataFrame())
    _WORKER.update(store=store, scorer=current_scorers(store)[Segment.of(segment)], key=key, feeds=feeds,
                   objections=objections)


def pseudonym_key(folder: Path) -> bytes:
    """The platform's key for households' pseudonyms (``pseudonym.key`` in the data folder, made once, 0600)."""
    path = folder / "pseudonym.key"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
    return path.read_bytes()


def _records_from_plan(plan: Path, k: int, kinds: list[str]) -> dict[str, pd.DataFrame]:
    records = {}
    for kind in kinds:
        path = plan / kind / f"part-{k:05d}.parquet"
        records[kind] = typed_frame(KINDS[kind], pd.read_parquet(path) if path.is_file() else pd.DataFrame())
    records["objections"] = _WORKER["objections"]
    return records


def _grade_one(plan: str, k: int, out: str, as_of: str) -> int:
    store: Store = _WORKER["store"]
    scorer = _WORKER["scorer"]
    date = dt.date.fromisoformat(as_of)
    kinds = sorted(scorer.catalogue.sources() | {scorer.segment.subject_kind})
    if _WORKER["feeds"] is not None:
        records = _records_from_plan(Path(plan), k, kinds)
        subjects = None  # everyone the partition's subject table knew on the date
    else:
        subjects = [s for s in (Path(plan) / f"part-{k:05d}.txt").read_text(encoding="utf-8").split("\n") if s]
        records = {kind: store.records(kind, subjects=subjects) for kind in kinds}
        records["objections"] = store.records("objections") if subjects else pd.DataFrame()  # keyed by record
    graded = grade_partition(scorer, records, date, subjects=subjects, key=_WORKER["key"])
    if scorer.segment is Segment.HOUSEHOLD:  # the villages' sums first: the grades file marks the partition done
        _atomic_parquet(village_sums_of(graded), Path(out) / "villages" / f"part-{k:05d}.parquet")
    _atomic_parquet(graded, Path(out) / f"part-{k:05d}.parquet")
    return len(graded)


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Written whole or not at all: a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.partial")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def grade_all(store: Store, segment: Segment | str, as_of: dt.date, out: str | Path, *, partitions: int = 16,
              workers: int = 2, progress: Progress | None = None, key: bytes | None = None,
              feeds: str | Path | None = None, keep_plan: bool = False) -> RunSummary:
    """Grade every subject of ``segment`` as of ``as_of`` into ``out/part-NNNNN.parquet``.

    The records come from the store, or from ``feeds`` (one Parquet folder per record kind); the model is the
    store's served one either way. The plan (``_plan``: the subjects' ids, or the feeds' rows split by partition)
    is kept while partitions remain — a killed run resumes from it — and removed once every partition is written
    (``keep_plan`` keeps it): no identifier is left behind in the output folder.
    """
    from creditscore.service.models import current_scorers

    segment = Segment.of(segment)
    if key is None:
        from creditscore.settings import get_settings

        key = pseudonym_key(get_settings().data_dir)
    if not 1 <= partitions <= 100_000:
        raise InvalidValue(f"partitions must be between 1 and 100,000, not {partitions}")
    if not 1 <= workers <= 256:
        raise InvalidValue(f"workers must be between 1 and 256, not {workers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    scorer = current_scorers(store)[segment]
    if feeds is not None:
        feeds = Path(feeds).resolve()
        if not feeds.is_dir():
            raise InvalidValue(f"{feeds}: no such folder of feeds")
    _claim(out, {"segment": segment.value, "as_of": as_of.isoformat(), "partitions": partitions,
                 "feeds": None if feeds is None else str(feeds)})
    finished_before = all((out / f"part-{k:05d}.parquet").is_file() for k in range(partitions))
    if finished_before:  # nothing left to grade: no plan needed
        pass
    elif feeds is not None:
        _plan_feeds(feeds, sorted(scorer.catalogue.sources() | {segment.subject_kind}), segment, out,
                    partitions=partitions, as_of=as_of)
    else:
        _plan(store, segment, out, partitions, as_of)
    for stale in out.rglob("*.partial"):  # a partition killed while being written: graded again
        stale.unlink()
    todo = [k for k in range(partitions) if not (out / f"part-{k:05d}.parquet").is_file()]
    done_before = partitions - len(todo)
    rows = 0
    if progress:
        progress(done_before, partitions, rows)
    # spawned, not forked: a fork of a process with threads (a service, a test runner, SQLAlchemy's pool) can
    # inherit a lock held by another thread and wait on it for ever
    with ProcessPoolExecutor(max_workers=workers, initializer=_init, mp_context=multiprocessing.get_context("spawn"),
                             initargs=(store.engine.url.render_as_string(hide_password=False), segment.value,
                                       key, None if feeds is None else str(feeds))) as pool:
        futures = [pool.submit(_grade_one, str(out / "_plan"), k, str(out), as_of.isoformat()) for k in todo]
        finished = done_before
        for future in as_completed(futures):
            rows += future.result()
            finished += 1
            if progress:
                progress(finished, partitions, rows)
    if not keep_plan and all((out / f"part-{k:05d}.parquet").is_file() for k in range(partitions)):
        shutil.rmtree(out / "_plan", ignore_errors=True)
    everyone: dict[str, int] = {}  # the whole run's grades, resumed partitions included
    for path in sorted(out.glob("part-*.parquet")):
        for g, c in pd.read_parquet(path, columns=["final_grade"])["final_grade"].value_counts().items():
            everyone[str(g)] = everyone.get(str(g), 0) + int(c)
    villages = townships = None
    if segment is Segment.HOUSEHOLD:
        sums = [pd.read_parquet(p) for p in sorted((out / "villages").glob("part-*.parquet"))]
        sums = [s for s in sums if len(s)]
        if sums:
            villages, townships = village_summary(pd.concat(sums, ignore_index=True), scorer.policy)
            _atomic_parquet(villages, out / "villages.parquet")
            _atomic_parquet(townships, out / "townships.parquet")
    return RunSummary(partitions=partitions, done_before=done_before, rows=rows,
                      seconds=time.perf_counter() - started, grades=everyone, villages=villages,
                      townships=townships)
