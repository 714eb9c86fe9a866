"""Time and peak memory of the synthetic population at scale.

    python benchmarks/synth.py --firms 100000 --households 300000 [--write parquet]

Generation runs in this process; peak memory is the process's maximum resident
set size (getrusage), which includes the interpreter and libraries.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditscore.synth import SynthConfig, generate


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", choices=["none", "csv", "parquet"], default="parquet")
    args = parser.parse_args()
    print(f"baseline peak RSS {peak_mib():,.0f} MiB")
    t0 = time.perf_counter()
    population = generate(SynthConfig(seed=args.seed, n_firms=args.firms, n_households=args.households))
    t1 = time.perf_counter()
    rows = {k: len(v) for k, v in population.tables.items()}
    print(f"generated {args.firms:,} firms and {args.households:,} households in {t1 - t0:.1f}s; "
          f"{sum(rows.values()):,} records; peak RSS {peak_mib():,.0f} MiB")
    for k, v in rows.items():
        print(f"  {k:<26}{v:>12,}")
    for t in population.observation_dates():
        sme, hh = population.outcomes(t, "sme"), population.outcomes(t, "household")
        print(f"  {t.date()}  SME default rate {sme['default'].mean():.2%} of {len(sme):,}  "
              f"household {hh['default'].mean():.2%} of {len(hh):,}")
    if args.write != "none":
        with tempfile.TemporaryDirectory() as tmp:
            t2 = time.perf_counter()
            written = population.write_files(tmp, fmt=args.write)
            t3 = time.perf_counter()
            size = sum(p.stat().st_size for paths in written.values() for p in paths)
            print(f"wrote {sum(map(len, written.values()))} {args.write} files ({size / 1e6:,.0f} MB) in "
                  f"{t3 - t2:.1f}s; total {t3 - t0:.1f}s; peak RSS {peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
