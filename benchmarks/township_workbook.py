"""A township's workbook — one sheet per village — against the same rows in one sheet and as CSV, in one run.

    python benchmarks/township_workbook.py [--sheets 20] [--per-sheet 500] [--repeats 3]

A synthetic county is loaded into a fresh SQLite store; ``sheets × per-sheet`` of its households' latest
surveys are written three ways: an XLSX with one sheet per village (each with a title line, a filler line, the
committee's headers and a totals line), an XLSX with every row in one sheet, and a CSV. Each is graded
``--repeats`` times with the library path of ``creditscore households score``; the medians are reported with
the ratio workbook / single sheet (the target: within 1.5×; a cost paid per sheet must not multiply with the
number of villages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AS_OF = dt.date(2024, 6, 30)
HEADERS = {"head_name": "户主姓名", "head_id": "身份证号码", "village_code": "村代码", "village_name": "村",
           "members": "家庭人口", "labourers": "劳动力", "annual_income": "家庭年收入(元)", "assets": "资产(元)",
           "liabilities": "负债(元)", "village_evaluation": "村委评价"}
WORDS = {"excellent": "优", "good": "良", "fair": "中", "poor": "差"}


def _rows(surveys: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({h: surveys[f] for f, h in HEADERS.items()})
    for money in ("家庭年收入(元)", "资产(元)", "负债(元)"):
        out[money] = (out[money].astype("Float64") / 100).round()
    out["村委评价"] = surveys["village_evaluation"].map(WORDS)
    out.insert(0, "序号", range(1, len(out) + 1))
    return out


def write_files(surveys: pd.DataFrame, folder: Path, sheets: int, per_sheet: int) -> dict[str, Path]:
    import xlsxwriter

    rows = _rows(surveys.head(sheets * per_sheet))
    paths = {"workbook": folder / "township.xlsx", "one sheet": folder / "one-sheet.xlsx", "csv": folder / "all.csv"}
    book = xlsxwriter.Workbook(str(paths["workbook"]))
    for s in range(sheets):
        part = rows.iloc[s * per_sheet:(s + 1) * per_sheet]
        ws = book.add_worksheet(f"第{s + 1}村")
        ws.write_row(0, 0, [f"石门乡第{s + 1}村2024年农户信用评级登记表"])
        ws.write_row(1, 0, ["填报单位：村民委员会（盖章）"])
        ws.write_row(2, 0, list(part.columns))
        for i, values in enumerate(part.itertuples(index=False), start=3):
            ws.write_row(i, 0, ["" if pd.isna(v) else v for v in values])
        ws.write_row(3 + len(part), 0, ["合计", "", "", "", "", int(part["家庭人口"].astype(int).sum())])
    book.close()
    book = xlsxwriter.Workbook(str(paths["one sheet"]))
    ws = book.add_worksheet("农户")
    ws.write_row(0, 0, list(rows.columns))
    for i, values in enumerate(rows.itertuples(index=False), start=1):
        ws.write_row(i, 0, ["" if pd.isna(v) else v for v in values])
    book.close()
    rows.to_csv(paths["csv"], index=False)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=int, default=20)
    parser.add_argument("--per-sheet", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from creditscore.records.subjects import Segment
    from creditscore.rural.batch import grade_household_file
    from creditscore.service.models import current_scorers
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Store(f"sqlite:///{folder / 'store.db'}")
        store.init()
        n = args.sheets * args.per_sheet
        started = time.perf_counter()
        load_feeds(store, generate(SynthConfig(seed=11, n_firms=20, n_households=int(n * 1.1)))
                   .write_files(folder / "feeds"))
        surveys = store.records("households", as_of=AS_OF).sort_values("surveyed_on")
        surveys = surveys.drop_duplicates("head_id", keep="last").reset_index(drop=True)
        if len(surveys) < n:
            sys.exit(f"only {len(surveys)} households surveyed by {AS_OF}: ask for fewer rows")
        paths = write_files(surveys, folder, args.sheets, args.per_sheet)
        print(f"store loaded and files written in {time.perf_counter() - started:.0f} s; {n:,} households, "
              f"{args.sheets} sheets × {args.per_sheet}; {args.repeats} runs each, median")
        scorer = current_scorers(store)[Segment.HOUSEHOLD]
        seconds: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.repeats):
            for name, path in paths.items():  # interleaved: the machine's noise falls on every layout alike
                t0 = time.perf_counter()
                result = grade_household_file(store, scorer, path, as_of=AS_OF, today=AS_OF)
                seconds[name].append(time.perf_counter() - t0)
                assert result.scored_rows + result.rejected_rows == n, (name, result.scored_rows, result.rejected_rows)
        print(f"{'layout':<12} {'median s':>9} {'rows/s':>9}")
        for name, values in seconds.items():
            m = statistics.median(values)
            print(f"{name:<12} {m:>9.2f} {n / m:>9,.0f}")
        ratio = statistics.median(seconds["workbook"]) / statistics.median(seconds["one sheet"])
        print(f"workbook / one sheet: {ratio:.2f}× (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
