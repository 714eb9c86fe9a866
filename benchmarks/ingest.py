"""Ingest throughput into SQLite and PostgreSQL: a penalties file with 1% bad rows, ingested twice.

    python benchmarks/ingest.py --rows 1000000 [--postgres-url URL]

Without --postgres-url a throwaway server is started when PostgreSQL's binaries
are installed. Prints rows/s for the first ingest (inserts) and the second
(all duplicates), and checks that the second adds nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditscore.records.ids import generate_uscc
from creditscore.store import Store, ingest_file


def make_file(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    firms = [generate_uscc(rng, division_code="410102") for _ in range(max(rows // 20, 1))]
    idx = pd.RangeIndex(rows)
    frame = pd.DataFrame({
        "统一社会信用代码": pd.Series(firms).take(idx % len(firms)).to_numpy(),
        "行政处罚决定书文号": "郑市监罚〔" + (2019 + idx % 6).astype(str) + "〕" + idx.astype(str) + "号",
        "处罚决定日期": (pd.Timestamp("2019-01-01") + pd.to_timedelta(idx % 2000, unit="D")).strftime("%Y-%m-%d"),
        "处罚机关": "郑州市市场监督管理局",
        "处罚类别": pd.Series(["轻微", "一般", "严重"]).take(idx % 3).to_numpy(),
        "罚款金额": ((idx % 97) * 500).astype(str),
    })
    frame.loc[frame.index % 100 == 0, "处罚决定日期"] = "2023-02-30"  # 1% bad rows
    frame.to_csv(path, index=False)


def run(store: Store, path: Path, label: str, repeats: int) -> None:
    firsts, seconds = [], []
    for _ in range(repeats):
        store.init()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM penalties")
        t0 = time.perf_counter()
        first = ingest_file(store, "penalties", path)
        t1 = time.perf_counter()
        second = ingest_file(store, "penalties", path)
        t2 = time.perf_counter()
        assert second.inserted == 0, second
        assert first.rejected == first.rows_read // 100, first
        firsts.append(first.rows_read / (t1 - t0))
        seconds.append(second.rows_read / (t2 - t1))
    print(f"{label:<10} rows={first.rows_read:>9,} inserted={first.inserted:>9,} rejected={first.rejected:>7,} "
          f"first ingest {statistics.median(firsts):>9,.0f} rows/s (range {min(firsts):,.0f}–{max(firsts):,.0f})  "
          f"re-ingest {statistics.median(seconds):>9,.0f} rows/s, added {second.inserted}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        path = Path(tmp) / "penalties.csv"
        t0 = time.perf_counter()
        make_file(path, args.rows)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f}s ({path.stat().st_size / 1e6:.0f} MB)")
        run(Store(f"sqlite:///{tmp}/bench.db"), path, "sqlite", args.repeats)
        url = args.postgres_url
        if url is None and not args.no_postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from conftest import postgres_url  # the same throwaway server the tests use

            try:
                url = stack.enter_context(_contextmanager(postgres_url.__wrapped__)())
            except Exception as exc:
                print(f"postgresql skipped: {exc}")
        if url:
            run(Store(url), path, "postgresql", args.repeats)


def _contextmanager(fn):
    from contextlib import contextmanager

    return contextmanager(fn)


if __name__ == "__main__":
    main()
