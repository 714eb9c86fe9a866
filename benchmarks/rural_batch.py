"""An assessor's household file graded end to end: read, validate, store records, features, grade, reasons,
villages and townships, workbook and HTML report — at 100,000 and 1,000,000 rows, with peak memory.

    python benchmarks/rural_batch.py [--rows 100000,1000000] [--store-households 50000] [--input xlsx]

A synthetic county of ``--store-households`` households is loaded into a fresh SQLite store (their
court listings, arrears, loans…). The file holds their latest surveys, tiled with new, valid resident
IDs up to the wanted size, and 1 % of rows with a wrong check character. Each size is graded in a
fresh child process (``creditscore households score``'s library path), so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AS_OF = dt.date(2024, 6, 30)
HEADERS = {"head_name": "户主姓名", "head_id": "身份证号", "county_code": "县区代码", "county_name": "县区",
           "township_code": "乡镇代码", "township_name": "乡镇", "village_code": "村代码",
           "village_name": "村/村民委员会", "members": "家庭人口", "labourers": "劳动力", "land_mu": "承包地面积(亩)",
           "annual_income": "家庭年收入", "assets": "家庭资产", "liabilities": "家庭负债",
           "village_evaluation": "村委会评价", "surveyed_on": "采集日期"}


def _new_ids(n: int, divisions: np.ndarray, taken: set[str], rng: random.Random) -> list[str]:
    from creditscore.records.ids import generate_resident_id

    out: list[str] = []
    start = dt.date(1950, 1, 1)
    while len(out) < n:
        i = len(out)
        born = start + dt.timedelta(days=rng.randrange(0, 365 * 50))
        hid = generate_resident_id(rng, division_code=str(divisions[i % len(divisions)]), birth_date=born,
                                   sex=rng.choice("MF"))
        if hid not in taken:
            taken.add(hid)
            out.append(hid)
    return out


def make_file(surveys: pd.DataFrame, rows: int, path: Path, rng: random.Random) -> Path:
    """``rows`` survey rows: the stored households first, then copies with new IDs; 1 % bad check characters."""
    reps = int(np.ceil(rows / len(surveys)))
    frame = pd.concat([surveys] * reps, ignore_index=True).iloc[:rows].copy()
    extra = len(frame) - len(surveys)
    if extra > 0:
        taken = set(surveys["head_id"])
        frame.loc[len(surveys):, "head_id"] = _new_ids(extra, frame["county_code"].to_numpy()[len(surveys):],
                                                       taken, rng)
    bad = np.arange(0, rows, 100)
    frame.loc[bad, "head_id"] = [h[:-1] + ("1" if h[-1] != "1" else "2") if len(h) == 18 else h[:-1] + "A"
                                 for h in frame.loc[bad, "head_id"]]
    out = pd.DataFrame({HEADERS[c]: frame[c] for c in HEADERS})
    for c in ("家庭年收入", "家庭资产", "家庭负债"):
        out[c] = out[c].astype(float) / 100
    out["采集日期"] = frame["surveyed_on"].dt.strftime("%Y-%m-%d")
    if path.suffix == ".xlsx":
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = wb.add_worksheet("农户")
        ws.write_row(0, 0, ["某县农户信用信息采集表"])
        ws.write_row(2, 0, list(out.columns))
        cols = [out[c].astype(object).where(out[c].notna(), None).to_numpy() for c in out.columns]
        for r in range(len(out)):
            ws.write_row(r + 3, 0, [col[r] for col in cols])
        wb.close()
    elif path.suffix == ".csv":
        out.to_csv(path, index=False)
    else:
        out.to_parquet(path, index=False)
    return path


def child(file: Path, data_dir: Path) -> None:
    """Grade one file and write its workbook and report; print timings and this process's peak RSS."""
    from creditscore.records.subjects import Segment
    from creditscore.rural.batch import grade_household_file
    from creditscore.rural.report import write_report
    from creditscore.rural.workbook import write_result
    from creditscore.service.models import ModelSet
    from creditscore.settings import Settings
    from creditscore.store import Store

    settings = Settings(data_dir=data_dir, model_source="demo")
    store = Store(settings.store_url)
    scorer = ModelSet(store, settings=settings).scorer(Segment.HOUSEHOLD)
    t0 = time.perf_counter()
    result = grade_household_file(store, scorer, file, as_of=AS_OF, chunk_rows=50_000)
    t1 = time.perf_counter()
    write_result(result, file.with_name(file.stem + "-out.xlsx"), source=file.name)
    t2 = time.perf_counter()
    write_report(result, scorer.catalogue, file.with_name(file.stem + "-report.html"))
    t3 = time.perf_counter()
    print(json.dumps({"rows": result.rows, "scored": result.scored_rows, "rejected": result.rejected_rows,
                      "villages": len(result.villages), "grade": t1 - t0, "stages": result.timings,
                      "workbook": t2 - t1, "report": t3 - t2, "total": t3 - t0,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--store-households", type=int, default=50_000)
    parser.add_argument("--input", choices=("xlsx", "csv", "parquet"), default="xlsx")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return

    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    folder = Path(tempfile.mkdtemp(prefix="rural-bench-"))
    settings = Settings(data_dir=folder / "data", model_source="demo")
    store = Store(settings.store_url)
    store.init()
    t = time.perf_counter()
    population = generate(SynthConfig(seed=11, n_firms=100, n_households=args.store_households))
    counts = load_feeds(store, population.write_files(folder / "feeds"))
    print(f"store: {args.store_households:,} households, {sum(r.inserted for r in counts):,} records loaded in "
          f"{time.perf_counter() - t:.0f} s (set-up, not measured)")
    surveys = store.records("households", as_of=AS_OF).sort_values("surveyed_on")
    surveys = surveys.drop_duplicates("head_id", keep="last").reset_index(drop=True)
    rng = random.Random(3)
    print(f"{'rows':>10} {'graded':>10} {'errors':>7} {'grade s':>8} {'rows/s':>8} {'workbook s':>10} "
          f"{'report s':>8} {'total s':>8} {'rows/s':>8} {'peak MiB':>9}")
    for n in [int(x) for x in args.rows.split(",")]:
        path = make_file(surveys, n, folder / f"households-{n}.{args.input}", rng)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), str(settings.data_dir)],
                             check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['rows']:>10,} {r['scored']:>10,} {r['rejected']:>7,} {r['grade']:>8.1f} "
              f"{r['rows'] / r['grade']:>8,.0f} {r['workbook']:>10.1f} {r['report']:>8.1f} {r['total']:>8.1f} "
              f"{r['rows'] / r['total']:>8,.0f} {r['peak_rss_mib']:>9,.0f}")
        print("           stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
              + f"; {r['villages']:,} villages")
        path.unlink()


if __name__ == "__main__":
    main()
