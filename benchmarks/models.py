"""Model quality and training time, measured in one run.

    python benchmarks/models.py --firms 100000 --households 100000

* synthetic SMEs and households: out-of-time AUC of both families against the oracle AUC
  (the generator's true PD), ECE, per-grade default rates, training time per family;
* UCI German Credit: 5-fold cross-validated AUC of both families (published: LR .784, best .801).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditscore.features import build_snapshots, load_catalogue
from creditscore.modeling.estimators import CreditGBM, ScorecardModel
from creditscore.modeling.train import train_segment
from creditscore.policy import load_policy
from creditscore.synth import SynthConfig, generate

GERMAN = Path(__file__).resolve().parents[1] / "tests" / "data" / "german_credit.csv.gz"


def synthetic(segment: str, n: int, seed: int) -> None:
    config = SynthConfig(seed=seed, n_firms=n if segment == "sme" else 500, n_households=n if segment != "sme" else 500)
    t0 = time.perf_counter()
    population = generate(config)
    dates = population.observation_dates()
    t1 = time.perf_counter()
    snapshots = build_snapshots(population.tables, load_catalogue(segment), dates, load_policy())
    t2 = time.perf_counter()
    result = train_segment(population.tables, segment, dates, truth=population.true_pd, snapshots=snapshots,
                           families=("gbm", "additive", "scorecard"))
    rows = len(snapshots[snapshots["as_of"].isin(pd.to_datetime(result.dates["train"]))])
    print(f"\n{segment}: {n:,} subjects; generated in {t1 - t0:.1f}s; {len(snapshots):,} snapshot rows over "
          f"{len(dates)} dates built in {t2 - t1:.1f}s; training rows {rows:,} ({len(result.dates['train'])} dates)")
    print(f"  oracle AUC {result.oracle['auc']:.4f}; champion {result.champion} ({result.rule})")
    for family, r in result.families.items():
        grades = r.grades[r.grades["count"] > 0]
        monotone = bool(np.all(np.diff(grades["default_rate"].to_numpy()) > 0))
        print(f"  {family:<10} test AUC {r.test['auc']:.4f} = {r.test['auc_vs_oracle']:.1%} of oracle; "
              f"KS {r.test['ks']:.3f}; ECE {r.test['ece'] * 100:.2f} pp; calibration {r.test['calibration']}; "
              f"grades strictly increasing: {monotone}; fit+calibrate {r.seconds:.1f}s")
        print("    " + "  ".join(f"{g.grade} {g.count:,}/{g.default_rate:.2%}" for g in grades.itertuples()))


def german() -> None:
    frame = pd.read_csv(GERMAN)
    y = (frame.pop("creditability") == "bad").astype(int).to_numpy()
    cats = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    codes = frame.copy()
    for c in cats:
        codes[c] = codes[c].astype("category").cat.codes
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    sc = cross_val_score(ScorecardModel(categorical_features=cats), frame, y, cv=folds, scoring="roc_auc")
    gbm = cross_val_score(CreditGBM(min_child_samples=20, num_leaves=7, categorical_features=cats), codes, y,
                          cv=folds, scoring="roc_auc")
    additive = cross_val_score(CreditGBM(min_child_samples=20, num_leaves=4, max_depth=2, categorical_features=cats,
                                         interaction_constraints=[[i] for i in range(codes.shape[1])]),
                               codes, y, cv=folds, scoring="roc_auc")
    print(f"\nGerman Credit, 5-fold AUC: scorecard {sc.mean():.4f} (±{sc.std():.3f}), "
          f"gbm {gbm.mean():.4f} (±{gbm.std():.3f}), additive {additive.mean():.4f} (±{additive.std():.3f}); "
          "published LR .784, best ensemble .801")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    synthetic("sme", args.firms, args.seed)
    synthetic("household", args.households, args.seed)
    german()


if __name__ == "__main__":
    main()
