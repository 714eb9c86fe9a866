"""Credit reports: one firm's PDF end to end, and a batch of reports, in one run.

    python benchmarks/reports.py [--firms 1200] [--batch 1000] [--repeats 5]

A synthetic population is loaded into a fresh SQLite store. "End to end" is what a bank's request costs: build
(grade, records, recourse search), render HTML, render PDF (WeasyPrint), record it for verification and audit it.
The batch issues ``--batch`` firms' PDFs one after another in this process (reports per second, peak memory).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AS_OF = dt.date(2024, 6, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from creditscore.service.grading import GradingService
    from creditscore.service.keys import Caller, Role
    from creditscore.service.reports import build_report, issue, render_html, render_pdf
    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    caller = Caller(key_prefix="bench", institution="benchmark", role=Role.BANK)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(data_dir=folder / "data", model_source="demo")
        store = Store(settings.store_url)
        store.init()
        load_feeds(store, generate(SynthConfig(seed=3, n_firms=args.firms, n_households=100))
                   .write_files(folder / "feeds"))
        service = GradingService(store, settings=settings)
        firms = store.records("enterprises")["uscc"].astype(str).tolist()
        wage = set(store.records("wage_arrears")["uscc"].astype(str))
        busy = next(f for f in firms if f in wage)  # a firm with records to show and something to do
        issue(service, busy, fmt="pdf", caller=caller, request_id="warm", route="benchmark", purpose="benchmark",
              as_of=AS_OF)  # fonts and templates loaded once, as in a running service
        stages: dict[str, list[float]] = {"build": [], "html": [], "pdf": [], "end to end": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            report = build_report(service, busy, as_of=AS_OF, purpose="benchmark")
            t1 = time.perf_counter()
            html = render_html(report)
            t2 = time.perf_counter()
            render_pdf(html)
            t3 = time.perf_counter()
            issue(service, busy, fmt="pdf", caller=caller, request_id="b", route="benchmark", purpose="benchmark",
                  as_of=AS_OF)
            t4 = time.perf_counter()
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[name].append(seconds)
        print(f"one firm's report ({busy}), median of {args.repeats}:")
        for name, values in stages.items():
            print(f"  {name:<11} {statistics.median(values):6.3f} s")
        registered = store.records("enterprises", as_of=AS_OF)["uscc"].astype(str)
        batch = [f for f in firms if f in set(registered)][:args.batch]  # firms that exist at the as-of date
        started = time.perf_counter()
        for uscc in batch:
            issue(service, uscc, fmt="pdf", caller=caller, request_id="batch", route="benchmark",
                  purpose="benchmark", as_of=AS_OF)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"batch: {len(batch):,} PDF reports in {seconds:.1f} s = {len(batch) / seconds:.2f} reports/s "
              f"({seconds / len(batch):.3f} s each); peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
