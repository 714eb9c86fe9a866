"""Province scale: everyone graded as of a date on this machine, by the local engine and by Spark ``local[2]``.

    python benchmarks/province.py --households 1000000 5000000 --firms 100000 [--partitions 64]
                                  [--engines local spark] [--folder /tmp/province-bench]

For each population size, in one run:

1. the province generator writes the Parquet feeds (two processes, chunk by chunk);
2. ``creditscore grade-all --feeds`` grades every household with the local engine (two workers) and with Spark
   ``local[2]``: wall time, rows/s with reasons, and peak memory of the whole process tree (the CLI, its workers,
   Spark's JVM and Python workers), sampled from /proc every 0.2 s;
3. a local run is killed (SIGKILL to the whole process group) once half its partitions are written, then run
   again: the time to finish after the kill, and that the result is the uninterrupted run's;
4. the two engines' outputs are compared (every household's grade and PD);
5. the point-in-time joins of one partition, the engine's own (numpy columns) against DuckDB and polars on the
   same indicators (survey facts as of the date, income growth since the previous survey, utility arrears in the
   last 12 months), values checked equal.

Firms (``--firms``, first size only) are graded by the local engine for the firms' rate. The estimate for a
province (25 M households, 3 M firms) on a cluster of N cores is printed with its assumptions. Results also go
to ``build/benchmarks/province.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

AS_OF = "2024-06-30"
ROOT = Path(__file__).resolve().parents[1]


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_total, self.peak_one, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree(root: int) -> list[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(child for child, parent in parents.items() if parent == pid)
        return tree

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [self._rss(p) for p in self._tree(self.pid)]
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_one = max(self.peak_one, max(sizes, default=0))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def cli(args: list[str], env: dict[str, str], *, kill_at: tuple[Path, int] | None = None) -> dict[str, float]:
    """Run ``creditscore`` with ``args``; optionally SIGKILL its process group once ``kill_at`` files exist."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "creditscore", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    memory = TreeMemory(proc.pid)
    killed = False
    if kill_at is not None:
        folder, count = kill_at
        while proc.poll() is None and len(list(folder.glob("part-*.parquet"))) < count:
            time.sleep(0.1)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
    output = proc.communicate()[0]
    memory.stop()
    seconds = time.perf_counter() - started
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"creditscore {' '.join(args)} failed:\n{output[-3000:]}")
    return {"seconds": seconds, "peak_tree_mib": memory.peak_total / 2**20,
            "peak_process_mib": memory.peak_one / 2**20, "killed": killed}


def grades_of(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("part-*.parquet")) if list(folder.glob("part-*.parquet")) else [folder]
    frame = pd.concat([pd.read_parquet(f, columns=["subject_key", "final_grade", "pd"]) for f in files])
    return frame.sort_values("subject_key").reset_index(drop=True)


def point_in_time(plan: Path, as_of: str) -> dict[str, float]:
    """One partition's point-in-time joins: the engine against DuckDB and polars, values checked equal."""
    import duckdb
    import numpy as np
    import polars as pl

    from creditscore.features import compute_features, load_catalogue
    from creditscore.policy import load_policy
    from creditscore.records.contracts import KINDS
    from creditscore.records.subjects import Segment
    from creditscore.store.db import typed_frame

    wanted = ["members", "annual_income", "income_growth", "utility_arrears_months_12m"]
    full = load_catalogue(Segment.HOUSEHOLD)
    catalogue = full.model_copy(update={"indicators": [i for i in full.indicators if i.id in wanted]})
    policy = load_policy()
    surveys_file, arrears_file = plan / "households" / "part-00000.parquet", plan / "utility_arrears" / \
        "part-00000.parquet"
    t = pd.Timestamp(as_of)
    times: dict[str, list[float]] = {"engine": [], "duckdb": [], "polars": []}
    results = {}
    for _ in range(3):
        started = time.perf_counter()
        records = {k: typed_frame(KINDS[k], pd.read_parquet(f)) for k, f in
                   (("households", surveys_file), ("utility_arrears", arrears_file))}
        subjects = sorted(records["households"].loc[records["households"]["surveyed_on"] <= t, "head_id"].unique())
        engine = compute_features(catalogue, records, t.date(), policy, subjects=subjects)[wanted]
        times["engine"].append(time.perf_counter() - started)
        results["engine"] = engine

        started = time.perf_counter()
        con = duckdb.connect()
        con.execute("SET threads = 1")  # a worker of the pool: one core each, as the engine
        frame = con.execute(f"""
            WITH s AS (
                SELECT head_id, members, annual_income, surveyed_on,
                       row_number() OVER (PARTITION BY head_id ORDER BY surveyed_on DESC) AS n
                FROM read_parquet('{surveys_file}') WHERE surveyed_on <= DATE '{as_of}'),
            latest AS (SELECT * FROM s WHERE n = 1), previous AS (SELECT * FROM s WHERE n = 2),
            arrears AS (
                SELECT subject_id, count(*) AS months FROM read_parquet('{arrears_file}')
                WHERE published_on <= DATE '{as_of}' AND month <= DATE '{as_of}'
                  AND month > DATE '{as_of}' - INTERVAL 365 DAY GROUP BY subject_id)
            SELECT latest.head_id AS subject_id, latest.members::DOUBLE AS members,
                   latest.annual_income / 100.0 AS annual_income,
                   latest.annual_income / nullif(previous.annual_income, 0) - 1 AS income_growth,
                   coalesce(arrears.months, 0)::DOUBLE AS utility_arrears_months_12m
            FROM latest LEFT JOIN previous USING (head_id) LEFT JOIN arrears ON arrears.subject_id = latest.head_id
            ORDER BY subject_id""").df().set_index("subject_id")
        con.close()
        times["duckdb"].append(time.perf_counter() - started)
        results["duckdb"] = frame

        started = time.perf_counter()
        cutoff = t.date()
        s = (pl.read_parquet(surveys_file, columns=["head_id", "members", "annual_income", "surveyed_on"])
             .filter(pl.col("surveyed_on") <= cutoff).sort(["head_id", "surveyed_on"], descending=[False, True])
             .with_columns(n=pl.col("surveyed_on").cum_count().over("head_id")))
        latest, previous = s.filter(pl.col("n") == 1), s.filter(pl.col("n") == 2)
        arrears = (pl.read_parquet(arrears_file, columns=["subject_id", "month", "published_on"])
                   .filter((pl.col("published_on") <= cutoff) & (pl.col("month") <= cutoff)
                           & (pl.col("month") > cutoff - pd.Timedelta(days=365)))
                   .group_by("subject_id").agg(months=pl.len()))
        out = (latest.join(previous.select("head_id", prev=pl.col("annual_income")), on="head_id", how="left")
               .join(arrears, left_on="head_id", right_on="subject_id", how="left")
               .select(subject_id="head_id", members=pl.col("members").cast(pl.Float64),
                       annual_income=pl.col("annual_income") / 100.0,
                       income_growth=pl.col("annual_income") / pl.col("prev").replace(0, None) - 1,
                       utility_arrears_months_12m=pl.col("months").fill_null(0).cast(pl.Float64))
               .sort("subject_id")).to_pandas().set_index("subject_id")
        times["polars"].append(time.perf_counter() - started)
        results["polars"] = out
    reference = results["engine"].sort_index()
    agree = {}
    for name in ("duckdb", "polars"):
        other = results[name].reindex(reference.index)
        agree[name] = bool(np.allclose(reference.to_numpy(float), other.to_numpy(float), equal_nan=True,
                                       rtol=1e-9, atol=1e-6))
    return {"households": len(reference), **{f"{k}_s": statistics.median(v) for k, v in times.items()},
            **{f"{k}_agrees": v for k, v in agree.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=64)
    parser.add_argument("--engines", nargs="+", default=["local", "spark"], choices=["local", "spark"])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/province-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the feeds and outputs")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "benchmarks", help="folder for province.json")
    args = parser.parse_args()

    from creditscore.synth.province import write_province_feeds

    env = {**os.environ, "CREDITSCORE_DATA_DIR": str(args.folder / "data"), "CREDITSCORE_MODEL_SOURCE": "demo",
           "PYTHONPATH": str(ROOT)}
    env.pop("CREDITSCORE_DATABASE_URL", None)
    results: list[dict[str, object]] = []
    for size_no, households in enumerate(args.households):
        firms = args.firms if size_no == 0 else 0
        base = args.folder / f"{households}"
        shutil.rmtree(base, ignore_errors=True)
        feeds = base / "feeds"
        started = time.perf_counter()
        written = write_province_feeds(feeds, households=households, firms=firms, workers=2)
        row: dict[str, object] = {"households": households, "firms": firms,
                                  "generate_s": time.perf_counter() - started,
                                  "feed_rows": sum(written.values()),
                                  "feeds_mb": sum(p.stat().st_size for p in feeds.rglob("*.parquet")) / 1e6}
        print(f"\n{households:,} households, {firms:,} firms: {row['feed_rows']:,} records generated in "
              f"{row['generate_s']:.0f} s ({row['feeds_mb']:,.0f} MB of Parquet)", flush=True)
        common = ["grade-all", "--segment", "household", "--as-of", AS_OF, "--feeds", str(feeds),
                  "--partitions", str(args.partitions)]
        if "local" in args.engines:
            run = cli([*common, "--out", str(base / "local"), "--keep-plan"], env)  # the joins below read it
            graded = grades_of(base / "local")
            row["local"] = {**run, "rows": len(graded), "rows_per_s": len(graded) / run["seconds"]}
            print(f"  local engine: {len(graded):,} graded in {run['seconds']:.0f} s = "
                  f"{len(graded) / run['seconds']:,.0f} rows/s; peak memory {run['peak_tree_mib']:,.0f} MiB "
                  f"(largest process {run['peak_process_mib']:,.0f} MiB)", flush=True)
            killed = cli([*common, "--out", str(base / "resumed")], env,
                         kill_at=(base / "resumed", args.partitions // 2))
            done = len(list((base / "resumed").glob("part-*.parquet")))
            resumed = cli([*common, "--out", str(base / "resumed")], env)
            same = grades_of(base / "resumed").equals(graded)
            row["resume"] = {"killed_after_s": killed["seconds"], "partitions_done_at_kill": done,
                             "resume_s": resumed["seconds"], "identical": same}
            print(f"  killed after {killed['seconds']:.0f} s with {done}/{args.partitions} partitions written; "
                  f"resumed and finished in {resumed['seconds']:.0f} s; output identical: {same}", flush=True)
            pit = point_in_time(base / "local" / "_plan", AS_OF)
            row["point_in_time"] = pit
            print(f"  point-in-time joins of one partition ({pit['households']:,} households, median of 3): "
                  f"engine {pit['engine_s']:.2f} s, DuckDB {pit['duckdb_s']:.2f} s (agrees: "
                  f"{pit['duckdb_agrees']}), polars {pit['polars_s']:.2f} s (agrees: {pit['polars_agrees']})",
                  flush=True)
            if firms:
                run = cli(["grade-all", "--segment", "sme", "--as-of", AS_OF, "--feeds", str(feeds), "--partitions",
                           str(max(2, args.partitions // 8)), "--out", str(base / "sme")], env)
                n = len(grades_of(base / "sme"))
                row["sme_local"] = {**run, "rows": n, "rows_per_s": n / run["seconds"]}
                print(f"  firms, local engine: {n:,} graded in {run['seconds']:.0f} s = {n / run['seconds']:,.0f} "
                      f"rows/s", flush=True)
        if "spark" in args.engines:
            run = cli([*common, "--out", str(base / "spark"), "--engine", "spark", "--master", "local[2]"], env)
            graded_spark = grades_of(base / "spark" / "grades")
            row["spark"] = {**run, "rows": len(graded_spark), "rows_per_s": len(graded_spark) / run["seconds"]}
            print(f"  Spark local[2]: {len(graded_spark):,} graded in {run['seconds']:.0f} s = "
                  f"{len(graded_spark) / run['seconds']:,.0f} rows/s; peak memory {run['peak_tree_mib']:,.0f} MiB "
                  f"(largest process {run['peak_process_mib']:,.0f} MiB)", flush=True)
            if "local" in args.engines:
                local = grades_of(base / "local")
                same = local["subject_key"].equals(graded_spark["subject_key"]) and \
                    local["final_grade"].equals(graded_spark["final_grade"]) and \
                    bool((local["pd"] - graded_spark["pd"]).abs().max() <= 1e-12)
                row["engines_identical"] = same
                print(f"  local and Spark outputs identical (every household's grade and PD): {same}", flush=True)
        results.append(row)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    estimate(results)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "province.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten: {out / 'province.json'}")


def estimate(results: list[dict[str, object]]) -> None:
    """25 M households and 3 M firms on a cluster of N cores, from the measured per-core rates."""
    big = results[-1]
    print("\nEstimate for a province of 25,000,000 households and 3,000,000 firms:")
    print("  assumptions: a cluster core grades at the rate measured per core here on the largest run (2 cores);")
    print("  the work splits evenly over partitions (CRC-32 of the id; 4 partitions a core); 80 % parallel")
    print("  efficiency for scheduling, shuffle and stragglers; firms cost what they cost here per row")
    firms_rate = None
    for row in results:
        if "sme_local" in row:
            firms_rate = row["sme_local"]["rows_per_s"] / 2
    for engine in ("local", "spark"):
        if engine not in big:
            continue
        per_core = big[engine]["rows_per_s"] / 2
        for cores in (16, 64, 256):
            seconds = 25_000_000 / (per_core * cores * 0.8)
            if firms_rate:
                seconds += 3_000_000 / (firms_rate * (per_core / (big["local"]["rows_per_s"] / 2)
                                                      if engine == "spark" and "local" in big else 1)
                                        * cores * 0.8)
            print(f"  {engine:<6} {per_core:,.0f} households/s a core → {cores:>4} cores: {seconds / 60:,.1f} min")


if __name__ == "__main__":
    main()
