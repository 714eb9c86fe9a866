"""The local engine: everyone in the store graded as of a date, partition by partition, in a process pool.

1. **Plan.** The subject table's ids are streamed in chunks and each is written to its partition's list
   (``_plan/part-00007.txt``): the parent never holds the population.
2. **Grade.** Each partition is one task: its subjects' records read from the store with bounded ``IN`` lists,
   graded by :func:`~creditscore.province.partition.grade_partition`, written to ``part-00007.parquet`` through a
   temporary file renamed into place — a partition's output exists whole or not at all.
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
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from creditscore.errors import InvalidValue
from creditscore.province.partition import grade_partition, part_of
from creditscore.records.contracts import KINDS
from creditscore.records.subjects import Segment
from creditscore.store import Store
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

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _plan(store: Store, segment: Segment, out: Path, partitions: int, as_of: dt.date) -> None:
    plan = out / "_plan"
    meta = {"segment": segment.value, "as_of": as_of.isoformat(), "partitions": partitions}
    if (plan / "plan.json").is_file():
        before = json.loads((plan / "plan.json").read_text())
        if before != meta:
            raise InvalidValue(f"{out} holds a run of {before}; this run is {meta}: use another folder")
        return
    plan.mkdir(parents=True, exist_ok=True)
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
    (plan / "plan.json").write_text(json.dumps(meta))


_WORKER: dict[str, object] = {}


def _init(store_url: str, segment: str, key: bytes) -> None:
    """Once per worker process: its own store connection and the served model, loaded once."""
    from creditscore.service.models import current_scorers

    store = Store(store_url)
    _WORKER.update(store=store, scorer=current_scorers(store)[Segment.of(segment)], key=key)


def pseudonym_key(folder: Path) -> bytes:
    """The platform's key for households' pseudonyms (``pseudonym.key`` in the data folder, made once, 0600)."""
    path = folder / "pseudonym.key"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
    return path.read_bytes()


def _grade_one(plan_file: str, out_file: str, as_of: str) -> tuple[int, dict[str, int]]:
    store: Store = _WORKER["store"]
    scorer = _WORKER["scorer"]
    subjects = [s for s in Path(plan_file).read_text(encoding="utf-8").split("\n") if s]
    records = {kind: store.records(kind, subjects=subjects)
               for kind in scorer.catalogue.sources() | {scorer.segment.subject_kind}}
    records["objections"] = store.records("objections") if subjects else pd.DataFrame()  # keyed by record
    graded = grade_partition(scorer, records, dt.date.fromisoformat(as_of), subjects=subjects, key=_WORKER["key"])
    tmp = Path(out_file).with_suffix(".parquet.partial")
    graded.to_parquet(tmp, index=False)
    os.replace(tmp, out_file)  # whole or not at all
    return len(graded), graded["final_grade"].value_counts().to_dict()


def grade_all(store: Store, segment: Segment | str, as_of: dt.date, out: str | Path, *, partitions: int = 16,
              workers: int = 2, progress: Progress | None = None, key: bytes | None = None) -> RunSummary:
    """Grade every subject of ``segment`` in the store as of ``as_of`` into ``out/part-NNNNN.parquet``."""
    segment = Segment.of(segment)
    if key is None:
        from creditscore.settings import get_settings

        key = pseudonym_key(get_settings().data_dir)
    if not 1 <= partitions <= 100_000:
        raise InvalidValue(f"partitions must be between 1 and 100,000, not {partitions}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _plan(store, segment, out, partitions, as_of)
    for stale in out.glob("*.partial"):  # a partition killed while being written: graded again
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
                                       key)) as pool:
        futures = [pool.submit(_grade_one, str(out / "_plan" / f"part-{k:05d}.txt"),
                               str(out / f"part-{k:05d}.parquet"), as_of.isoformat()) for k in todo]
        finished = done_before
        for future in as_completed(futures):
            n, _ = future.result()
            rows += n
            finished += 1
            if progress:
                progress(finished, partitions, rows)
    everyone: dict[str, int] = {}  # the whole run's grades, resumed partitions included
    for path in sorted(out.glob("part-*.parquet")):
        for g, c in pd.read_parquet(path, columns=["final_grade"])["final_grade"].value_counts().items():
            everyone[str(g)] = everyone.get(str(g), 0) + int(c)
    return RunSummary(partitions=partitions, done_before=done_before, rows=rows,
                      seconds=time.perf_counter() - started, grades=everyone)
