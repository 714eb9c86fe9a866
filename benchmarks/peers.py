"""The project's model families beside the peers an analyst would try, on the same folds, in one run.

    pip install -e '.[peers]'        # toad and scorecardpy (optbinning and LightGBM are dependencies already)
    python benchmarks/peers.py [--firms 20000] [--folds 5]

Datasets: UCI German Credit as it ships (``tests/data/german_credit.csv.gz``: text columns, "good"/"bad") and the
synthetic firms' indicators on one observation date with their next-12-month default. The project's five families
(the general, additive, scorecard and forest models, and the two blends) beside the peers. Each model is fitted on
the same stratified folds (seed 0, or every fold of several seeds with ``--fold-seeds 0 1 2``); per model: AUC, KS,
Brier score (of the probabilities as the model gives them, uncalibrated), fit time per fold and scoring rows/s (the
test folds repeated to 100,000 rows). A peer that fails on a dataset is reported with its error, not dropped.
Results also go to ``build/benchmarks/peers.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
Fit = Callable[[pd.DataFrame, np.ndarray], Callable[[pd.DataFrame], np.ndarray]]  # → a function giving PDs


def ours(family: str) -> Fit:
    from creditscore.modeling.estimators import BlendModel, CreditForest, CreditGBM, ScorecardModel

    def fit(X: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:  # noqa: N803
        model = {"gbm": CreditGBM,
                 "additive": lambda: CreditGBM(interaction_constraints=[[i] for i in range(X.shape[1])],
                                               num_leaves=4, max_depth=2),
                 "scorecard": ScorecardModel,
                 "forest": CreditForest,
                 "blend": BlendModel,
                 "blend (scorecard + forest)": lambda: BlendModel(parts=("scorecard", "forest"))}[family]().fit(X, y)
        return model.predict_pd

    return fit


def plain_lightgbm(X: pd.DataFrame, y: np.ndarray):  # noqa: N803
    import lightgbm as lgb

    frame = _categories(X)
    model = lgb.LGBMClassifier(verbosity=-1, n_jobs=2, random_state=0).fit(frame, y)
    return lambda rows: model.predict_proba(_categories(rows, like=frame))[:, 1]


def plain_logistic(X: pd.DataFrame, y: np.ndarray):  # noqa: N803
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numbers = [c for c in X.columns if c not in text]
    prep = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text),
                                   (make_pipeline(SimpleImputer(), StandardScaler()), numbers))
    model = make_pipeline(prep, LogisticRegression(max_iter=2000)).fit(X, y)
    return lambda rows: model.predict_proba(rows)[:, 1]


def optbinning_scorecard(X: pd.DataFrame, y: np.ndarray):  # noqa: N803
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    card = Scorecard(binning_process=BinningProcess(list(X.columns)), estimator=LogisticRegression(max_iter=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card.fit(X, y)
    return lambda rows: card.predict_proba(rows)[:, 1]


def toad_scorecard(X: pd.DataFrame, y: np.ndarray):  # noqa: N803
    import toad
    from sklearn.linear_model import LogisticRegression

    combiner = toad.transform.Combiner()
    frame = X.assign(target=y)
    combiner.fit(frame, y="target", method="chi", min_samples=0.05)
    woe = toad.transform.WOETransformer()
    train = woe.fit_transform(combiner.transform(frame), frame["target"], exclude=["target"])
    model = LogisticRegression(max_iter=2000).fit(train.drop(columns="target"), y)
    return lambda rows: model.predict_proba(woe.transform(combiner.transform(rows)))[:, 1]


def scorecardpy_scorecard(X: pd.DataFrame, y: np.ndarray):  # noqa: N803
    import scorecardpy as sc
    from sklearn.linear_model import LogisticRegression

    frame = X.assign(target=y)
    bins = sc.woebin(frame, y="target", print_step=0)
    train = sc.woebin_ply(frame, bins, print_step=0)
    columns = [c for c in train.columns if c != "target"]
    model = LogisticRegression(max_iter=2000).fit(train[columns], y)
    return lambda rows: model.predict_proba(sc.woebin_ply(rows, bins, print_step=0)[columns])[:, 1]


def _categories(X: pd.DataFrame, like: pd.DataFrame | None = None) -> pd.DataFrame:  # noqa: N803
    out = X.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            cats = like[c].cat.categories if like is not None else None
            out[c] = pd.Categorical(out[c].astype(str), categories=cats)
    return out


MODELS: dict[str, Fit] = {
    "creditscore gbm": ours("gbm"), "creditscore additive": ours("additive"),
    "creditscore scorecard": ours("scorecard"), "creditscore forest": ours("forest"),
    "creditscore blend": ours("blend"), "creditscore blend (scorecard + forest)": ours("blend (scorecard + forest)"),
    "LightGBM (defaults)": plain_lightgbm, "logistic regression (one-hot)": plain_logistic,
    "optbinning Scorecard": optbinning_scorecard, "toad (chi bins + WOE + LR)": toad_scorecard,
    "scorecardpy (woebin + LR)": scorecardpy_scorecard,
}


def ks(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def evaluate(name: str, fit: Fit, X: pd.DataFrame, y: np.ndarray, folds: int, *,  # noqa: N803
             seeds: Sequence[int] = (0,)) -> dict[str, object]:
    """Every fold of every fold seed: AUC, KS and Brier are their means (the AUC's spread is the folds'; with
    several seeds, ``auc_by_seed`` gives each seed's mean — a thousand rows' AUC moves by ±0.005 between seeds)."""
    aucs, kss, briers, fit_s, rate, by_seed = [], [], [], [], [], []
    splits = [(seed, train, test) for seed in seeds
              for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y)]
    try:
        for seed, train, test in splits:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predict = fit(X.iloc[train].reset_index(drop=True), y[train])
            fit_s.append(time.perf_counter() - started)
            p = predict(X.iloc[test].reset_index(drop=True))
            aucs.append(roc_auc_score(y[test], p))
            by_seed.append(seed)
            kss.append(ks(y[test], p))
            briers.append(brier_score_loss(y[test], np.clip(p, 0, 1)))
            if seed == seeds[0]:  # the scoring rate once per fold is enough
                many = pd.concat([X.iloc[test]] * max(1, 100_000 // len(test)), ignore_index=True)
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    predict(many)
                rate.append(len(many) / (time.perf_counter() - started))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a peer that cannot take the data is a finding, reported as such; toad's Rust
        # core panics on some columns (pyo3's PanicException is a BaseException, not an Exception)
        return {"model": name, "error": f"{type(exc).__name__}: {str(exc)[:160]}"}
    per_seed = {seed: float(np.mean([a for a, s in zip(aucs, by_seed, strict=True) if s == seed])) for seed in seeds}
    return {"model": name, "auc": float(np.mean(aucs)), "auc_sd": float(np.std(aucs)), "ks": float(np.mean(kss)),
            "brier": float(np.mean(briers)), "fit_s": float(np.median(fit_s)), "rows_per_s": float(np.median(rate)),
            "auc_by_seed": per_seed}


def german() -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(ROOT / "tests" / "data" / "german_credit.csv.gz")
    return frame.drop(columns="creditability"), (frame["creditability"] == "bad").to_numpy(int)


def synthetic(firms: int) -> tuple[pd.DataFrame, np.ndarray]:
    from creditscore.features import build_snapshots, load_catalogue
    from creditscore.policy import load_policy
    from creditscore.synth import SynthConfig, generate

    population = generate(SynthConfig(seed=11, n_firms=firms, n_households=10))
    catalogue = load_catalogue("sme")
    snap = build_snapshots(population.tables, catalogue, [pd.Timestamp("2023-06-30")], load_policy())
    return snap[catalogue.ids].reset_index(drop=True), snap["default"].to_numpy(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seeds", type=int, nargs="+", default=[0],
                        help="several seeds: the AUC over every fold of each (German Credit moves ±0.005 by seed)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "benchmarks", help="folder for peers.json")
    args = parser.parse_args()
    results = {}
    for dataset, (X, y) in (("German Credit", german()), (f"synthetic firms ({args.firms:,})",  # noqa: N806
                                                          synthetic(args.firms))):
        print(f"\n{dataset}: {len(y):,} rows, {X.shape[1]} columns, {y.mean():.1%} bad, {args.folds} folds "
              f"(seed{'s' if len(args.fold_seeds) > 1 else ''} {', '.join(map(str, args.fold_seeds))})")
        print(f"  {'model':<40}{'AUC':>14}{'KS':>8}{'Brier':>8}{'fit s':>8}{'score rows/s':>14}")
        rows = []
        for name, fit in MODELS.items():
            r = evaluate(name, fit, X, y, args.folds, seeds=args.fold_seeds)
            rows.append(r)
            if "error" in r:
                print(f"  {name:<40}  failed: {r['error']}", flush=True)
            else:
                print(f"  {name:<40}{r['auc']:>8.4f} ±{r['auc_sd']:.3f}{r['ks']:>8.3f}{r['brier']:>8.4f}"
                      f"{r['fit_s']:>8.2f}{r['rows_per_s']:>14,.0f}", flush=True)
        results[dataset] = rows
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps(results, indent=1))
    print(f"\nwritten: {out / 'peers.json'}")


if __name__ == "__main__":
    main()
