"""A province-sized synthetic population written straight to typed Parquet feeds, chunk by chunk.

Each chunk is an ordinary synthetic population (:func:`creditscore.synth.generate`) written to
``<folder>/<kind>/chunk-NNNNN.parquet`` — the layout a warehouse holds and the Spark engine of
``creditscore grade-all`` reads — and dropped before the next is made: memory is bounded by the chunk, not the
province. Chunks are independent draws, so their identifiers and places could repeat; every identifier and
division code of chunk *n* is moved to a division of its own (the first two digits kept, the next four the chunk's
number) with check characters computed again, so no two chunks share a firm, a person or a village, every
identifier stays valid, and a village's code still starts with its township's and county's.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
import pyarrow as pa

from creditscore.errors import InvalidValue
from creditscore.records.contracts import KINDS, FieldType
from creditscore.records.ids import resident_id_check_char, uscc_check_char
from creditscore.synth import SynthConfig, generate

__all__ = ["as_dates", "write_province_feeds"]


def _rehome(code: object, chunk: int) -> object:
    """The identifier moved to the chunk's own division code, check characters recomputed."""
    if not isinstance(code, str) or len(code) != 18:
        return code
    if code[:17].isdigit():  # a resident ID: division in its first six digits
        first17 = code[:2] + f"{chunk:04d}" + code[6:17]
        return first17 + resident_id_check_char(first17)
    first17 = code[:4] + f"{chunk:04d}" + code[8:17]  # a USCC: division at positions 3–8
    return first17 + uscc_check_char(first17)


def as_dates(values: pd.Series) -> pd.Series:
    """A column as Parquet ``date32`` whatever it holds, even when every value is empty: a file whose column came
    out typeless beside one whose column is a date makes Spark read dates as day numbers."""
    days = [None if pd.isna(v) else pd.Timestamp(v).date() for v in values]
    return pd.Series(pd.array(days, dtype=pd.ArrowDtype(pa.date32())), index=values.index)


def _typed_for_parquet(kind_name: str, frame: pd.DataFrame, chunk: int) -> pd.DataFrame:
    kind = KINDS[kind_name]
    frame = frame.copy()
    for f in kind.fields:
        if f.name not in frame:
            continue
        if f.type in (FieldType.USCC, FieldType.RESIDENT_ID, FieldType.SUBJECT_ID):
            frame[f.name] = [_rehome(v, chunk) for v in frame[f.name]]
        elif f.type is FieldType.DIVISION:  # the chunk's own county: its villages are places of their own
            frame[f.name] = [v[:2] + f"{chunk:04d}" + v[6:] if isinstance(v, str) and len(v) >= 6 else v
                             for v in frame[f.name]]
        elif f.type in (FieldType.DATE, FieldType.MONTH):
            frame[f.name] = as_dates(frame[f.name])
    return frame


def _write_chunk(folder: str, n: int, households: int, firms: int, seed: int) -> dict[str, int]:
    """Chunk ``n``: one synthetic population written as ``<kind>/chunk-NNNNN.parquet``, then dropped."""
    population = generate(SynthConfig(seed=seed + n, n_firms=firms, n_households=households))
    written: dict[str, int] = {}
    for name, frame in population.tables.items():
        target = Path(folder) / name
        target.mkdir(parents=True, exist_ok=True)
        _typed_for_parquet(name, frame, n).to_parquet(target / f"chunk-{n:05d}.parquet", index=False)
        written[name] = len(frame)
    if "objections" not in population.tables:  # the engines read objections beside the records
        (Path(folder) / "objections").mkdir(parents=True, exist_ok=True)
        pd.DataFrame({c.name: pd.Series(dtype="string") for c in KINDS["objections"].fields}).to_parquet(
            Path(folder) / "objections" / f"chunk-{n:05d}.parquet", index=False)
    return written


def write_province_feeds(folder: str | Path, *, households: int, firms: int, chunk_households: int = 100_000,
                         seed: int = 20240630, progress: Callable[[int, int], None] | None = None,
                         workers: int = 1) -> dict[str, int]:
    """Write ``households`` households and ``firms`` firms with their records; returns rows written per kind.

    Chunks are independent, so ``workers`` processes write them side by side (each holds one chunk at a time).
    """
    if households < 0 or firms < 0 or chunk_households < 1 or workers < 1:
        raise InvalidValue("households and firms are counts, a chunk holds at least one household, and at least "
                           "one worker writes")
    chunks = max(1, -(-households // chunk_households))
    if chunks > 9999:
        raise InvalidValue(f"{chunks} chunks: at most 9,999 (raise chunk_households)")
    jobs = [(str(folder), n, min(chunk_households, households - n * chunk_households) if households else 0,
             firms // chunks + (1 if n < firms % chunks else 0), seed) for n in range(chunks)]
    written: dict[str, int] = {}

    def add(counts: dict[str, int], done: int) -> None:
        for name, rows in counts.items():
            written[name] = written.get(name, 0) + rows
        if progress:
            progress(done, chunks)

    if workers == 1:
        for done, job in enumerate(jobs, start=1):
            add(_write_chunk(*job), done)
        return written
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done, future in enumerate(as_completed([pool.submit(_write_chunk, *job) for job in jobs]), start=1):
            add(future.result(), done)
    return written
