"""Explanation throughput beside plain prediction, in one run.

    python benchmarks/explain.py --subjects 100000 [--repeats 3]

On the shipped SME demo bundle (LightGBM; its tree count is printed) and the
indicators of a synthetic population: raw predict, PD + grade, TreeSHAP with
LightGBM's ``pred_contrib`` (1 and 2 threads), ``shap.TreeExplainer`` on a
subset, and the reasons (top 3 adverse, top 2 favourable, texts in both
languages). Medians of the repeats, subjects per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditscore.decisions.reasons import explain, reasons
from creditscore.features import compute_features, load_catalogue
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.policy import load_policy
from creditscore.synth import SynthConfig, generate


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    catalogue = load_catalogue("sme")
    bundle = ModelBundle.load(DEMO_BUNDLES / "sme", catalogue=catalogue)
    population = generate(SynthConfig(seed=5, n_firms=min(args.subjects, 100_000), n_households=500))
    X = compute_features(catalogue, population.tables, "2024-06-30", load_policy())  # noqa: N806
    X = pd.concat([X] * int(np.ceil(args.subjects / len(X))))[: args.subjects]  # noqa: N806
    matrix = X[bundle.feature_names].to_numpy(dtype=float)
    n = len(X)
    print(f"{n:,} subjects × {matrix.shape[1]} indicators; bundle {bundle.version_label}: "
          f"{bundle.booster.num_trees()} trees")
    rows = []
    for label, fn in [
        ("predict (raw margin, 2 threads)", lambda: bundle.booster.predict(matrix, raw_score=True, num_threads=2)),
        ("predict (raw margin, 1 thread)", lambda: bundle.booster.predict(matrix, raw_score=True, num_threads=1)),
        ("PD + score + grade", lambda: bundle.predict(X)),
        ("TreeSHAP pred_contrib (2 threads)", lambda: bundle.booster.predict(matrix, pred_contrib=True,
                                                                             num_threads=2)),
        ("TreeSHAP pred_contrib (1 thread)", lambda: bundle.booster.predict(matrix, pred_contrib=True,
                                                                            num_threads=1)),
    ]:
        seconds, _ = timed(fn, args.repeats)
        rows.append((label, n / seconds))
    seconds, e = timed(lambda: explain(bundle, X), args.repeats)
    rows.append(("explain (contributions + base)", n / seconds))
    seconds, _ = timed(lambda: reasons(e, catalogue), args.repeats)
    rows.append(("reasons from contributions (texts zh + en)", n / seconds))
    sub = matrix[: min(n, 10_000)]
    import shap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(bundle.booster)
        seconds, values = timed(lambda: explainer.shap_values(sub), 1)
    values = values[1] if isinstance(values, list) else values
    agree = float(np.abs(values - e.contributions[: len(sub)]).max())
    rows.append((f"shap.TreeExplainer ({len(sub):,} rows; max |diff| vs pred_contrib {agree:.1e})",
                 len(sub) / seconds))
    base = rows[0][1]
    for label, rate in rows:
        print(f"  {label:<62} {rate:>12,.0f} subjects/s  ({base / rate:8.1f}× the cost of predict)")


if __name__ == "__main__":
    main()
