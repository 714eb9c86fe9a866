"""Feature throughput: 100,000 firms as of one date from the store, numpy engine vs pandas reference,
and single-subject latency from SQLite.

    python benchmarks/features.py --firms 100000 [--repeats 3]

Builds a synthetic store first (generate → parquet feeds → ingest), then measures
in one run: reading the store, each engine on the same records (median of the
repeats), and p50/p95 of one subject's features straight from the store.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditscore.features import compute_features, load_catalogue
from creditscore.policy import load_policy
from creditscore.store import Store
from creditscore.store.features import store_records, subject_features
from creditscore.synth import SynthConfig, generate
from creditscore.synth.feeds import load_feeds
from tests.features import pandas_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--as-of", default="2024-06-30")
    args = parser.parse_args()
    policy, catalogue = load_policy(), load_catalogue("sme")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        population = generate(SynthConfig(seed=3, n_firms=args.firms, n_households=args.households))
        store = Store(f"sqlite:///{tmp}/bench.db")
        store.init()
        reports = load_feeds(store, population.write_files(Path(tmp) / "feeds", fmt="parquet"))
        rows = sum(r.inserted for r in reports)
        print(f"store built: {args.firms:,} firms, {rows:,} records in {time.perf_counter() - t0:.0f}s")

        reads, ours, theirs = [], [], []
        for _ in range(args.repeats):
            t1 = time.perf_counter()
            records = store_records(store, catalogue, as_of=args.as_of)
            t2 = time.perf_counter()
            a = compute_features(catalogue, records, args.as_of, policy)
            t3 = time.perf_counter()
            b = pandas_reference.compute_features(catalogue, records, args.as_of, policy)
            t4 = time.perf_counter()
            reads.append(t2 - t1)
            ours.append(t3 - t2)
            theirs.append(t4 - t3)
        same = np.allclose(a.to_numpy(), b.loc[a.index].to_numpy(), equal_nan=True, rtol=1e-12, atol=1e-9)
        n_records = sum(len(v) for v in records.values())
        print(f"as of {args.as_of}: {len(a):,} firms × {a.shape[1]} indicators from {n_records:,} records "
              f"(median of {args.repeats})")
        print(f"  read from store          {statistics.median(reads):7.2f}s")
        print(f"  numpy engine             {statistics.median(ours):7.2f}s  "
              f"({len(a) / statistics.median(ours):,.0f} firms/s)")
        print(f"  pandas reference engine  {statistics.median(theirs):7.2f}s  "
              f"({statistics.median(theirs) / statistics.median(ours):.1f}× the numpy time); identical: {same}")

        ids = list(a.index)
        rng = random.Random(1)
        latencies = []
        for subject in rng.sample(ids, min(args.singles, len(ids))):
            t5 = time.perf_counter()
            subject_features(store, catalogue, subject, args.as_of, policy=policy)
            latencies.append((time.perf_counter() - t5) * 1000)
        latencies.sort()
        print(f"  single subject from SQLite: p50 {statistics.median(latencies):.2f} ms, "
              f"p95 {latencies[int(0.95 * len(latencies)) - 1]:.2f} ms over {len(latencies)} firms")


if __name__ == "__main__":
    main()
