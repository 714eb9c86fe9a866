"""Training: stacked snapshots, out-of-time split, both families, calibration, champion, bundles.

The split is by time, never at random: the model learns from the earlier
observation dates, early-stops and is calibrated on the next one (data the trees
never trained on), and is judged on the last one, which nothing has seen. The
champion is chosen on the **validation** date by a stated rule, so the test date
stays an honest estimate:

    among the families whose validation AUC is within ``tie_auc`` (0.005) of the
    best, the one cheapest to explain wins: the scorecard (points a person can
    read), then the additive model (exact reasons at prediction speed), then the
    general gradient-boosted model (TreeSHAP, ~30× the cost of a prediction).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from creditscore.errors import InsufficientData, InvalidValue
from creditscore.features import build_snapshots, load_catalogue
from creditscore.features.catalogue import Catalogue
from creditscore.modeling import metrics
from creditscore.modeling.bundle import ModelBundle
from creditscore.modeling.calibration import Calibrator
from creditscore.modeling.estimators import BlendModel, CreditForest, CreditGBM, ScorecardModel
from creditscore.modeling.scales import MasterScale, load_scales
from creditscore.policy import Policy, load_policy

__all__ = ["FamilyResult", "TrainResult", "choose_champion", "make_estimator", "observation_dates", "train_segment"]

Truth = Callable[[pd.Timestamp, str], pd.DataFrame]  # (as_of, segment) → subject_id, pd


@dataclass
class FamilyResult:
    family: str
    bundle: ModelBundle
    validation: dict[str, float]
    test: dict[str, float]
    grades: pd.DataFrame
    seconds: float
    test_pd: np.ndarray = field(repr=False)
    train_pd: np.ndarray = field(repr=False)
    test_features: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


@dataclass
class TrainResult:
    segment: str
    catalogue: Catalogue
    dates: dict[str, list[str]]
    families: dict[str, FamilyResult]
    champion: str
    rule: str
    oracle: dict[str, float] = field(default_factory=dict)
    test_frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def champion_bundle(self) -> ModelBundle:
        return self.families[self.champion].bundle


def make_estimator(family: str, catalogue: Catalogue) -> CreditGBM | ScorecardModel | BlendModel:
    """The estimator of a family, constrained by the catalogue's directions of risk."""
    mono = catalogue.monotone_constraints
    cats = catalogue.categorical
    if family == "gbm":
        return CreditGBM(monotone_constraints=mono, categorical_features=cats)
    if family == "additive":
        # every tree on a single indicator: exact reasons at prediction speed
        return CreditGBM(monotone_constraints=mono, categorical_features=cats,
                         interaction_constraints=[[i] for i in range(len(mono))], num_leaves=7, max_depth=3,
                         n_estimators=1500, learning_rate=0.05)
    if family == "scorecard":
        return ScorecardModel(monotone_constraints=mono, categorical_features=cats)
    if family == "blend":  # the trainer builds it from the scorecard and additive families it fitted
        return BlendModel(monotone_constraints=mono, categorical_features=cats)
    if family == "forest":
        return CreditForest(monotone_constraints=mono, categorical_features=cats)
    raise InvalidValue(f"unknown model family {family!r}; expected gbm, additive, scorecard, blend or forest")


EXPLANATION_COST = ("scorecard", "additive", "blend", "gbm", "forest")  # cheapest to explain first (a forest's
# 500 deep trees cost the most TreeSHAP)


def choose_champion(validation_auc: dict[str, float], tie_auc: float = 0.005) -> tuple[str, str]:
    """Apply the stated rule; returns (family, the rule as applied, in words)."""
    best = max(validation_auc, key=validation_auc.get)
    close = [f for f in EXPLANATION_COST if f in validation_auc and validation_auc[best] - validation_auc[f] < tie_auc]
    chosen = close[0] if close else best
    aucs = ", ".join(f"{k} {v:.4f}" for k, v in validation_auc.items())
    if chosen == best:
        return best, f"highest validation AUC ({aucs})"
    return chosen, (f"validation AUC {aucs}: {chosen} is within {tie_auc} of the best ({best}) and cheaper to "
                    "explain, so it wins")


def observation_dates(records: dict[str, pd.DataFrame], *, month_day: tuple[int, int] = (6, 30)) -> list[pd.Timestamp]:
    """30 June of each year with a year of records before it, loans outstanding on it, and a full year of
    outcomes after it.

    A platform's records often go back further than the banks' loan book it is joined with: a date before the
    first loan has no one to learn from, and is not a date.
    """
    published = [f["published_on"].dropna() for f in records.values() if "published_on" in f and len(f)]
    if not published:
        raise InsufficientData("no records: nothing to train on (load data first: creditscore demo-data)")
    first = min(p.min() for p in published)
    end = max(p.max() for p in published)
    loans = records.get("loans")
    first_loan = loans["opened_on"].min() if loans is not None and len(loans) else first
    m, d = month_day
    return [pd.Timestamp(y, m, d) for y in range(first.year + 1, end.year + 1)
            if pd.Timestamp(y, m, d) - first >= pd.Timedelta(days=365)
            and pd.Timestamp(y, m, d) >= first_loan
            and pd.Timestamp(y, m, d) + pd.Timedelta(days=365) <= end]


def _split(dates: Sequence[pd.Timestamp]) -> tuple[list[pd.Timestamp], pd.Timestamp, pd.Timestamp]:
    ordered = sorted(pd.Timestamp(d) for d in dates)
    if len(ordered) < 3:
        raise InsufficientData("out-of-time training needs at least three observation dates (train, validate, "
                               "test)")
    return ordered[:-2], ordered[-2], ordered[-1]


def train_segment(
    records: dict[str, pd.DataFrame],
    segment: str,
    dates: Sequence[object],
    *,
    families: Sequence[str] = ("gbm", "scorecard"),
    policy: Policy | None = None,
    scale: MasterScale | None = None,
    catalogue: Catalogue | None = None,
    truth: Truth | None = None,
    snapshots: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train every family on the earlier dates, calibrate on the next, test on the last.

    ``truth`` (synthetic data only) gives the true PD at a date: the report then
    shows the oracle AUC beside the model's. ``progress`` is told each step (snapshots, each family's rounds,
    calibration, evaluation) as a line of text.
    """
    say = progress or (lambda _: None)
    policy = policy or load_policy()
    catalogue = catalogue or load_catalogue(segment)
    scale = scale or load_scales().scales[segment]  # type: ignore[index]
    train_dates, valid_date, test_date = _split([pd.Timestamp(d) for d in dates])
    if snapshots is None:
        say(f"building indicators and outcomes on {len(train_dates) + 2} observation dates")
        snapshots = build_snapshots(records, catalogue, [*train_dates, valid_date, test_date], policy)
    feats = catalogue.ids
    parts = {"train": snapshots[snapshots["as_of"].isin(train_dates)],
             "valid": snapshots[snapshots["as_of"] == valid_date],
             "test": snapshots[snapshots["as_of"] == test_date]}
    for name, part in parts.items():
        if part["default"].nunique() < 2:
            raise InsufficientData(f"the {name} snapshot has no defaults (or only defaults): not enough data to "
                                   "train")
    X = {k: v[feats] for k, v in parts.items()}  # noqa: N806
    y = {k: v["default"].to_numpy() for k, v in parts.items()}
    window = {"train": [d.date().isoformat() for d in train_dates], "validation": [valid_date.date().isoformat()],
              "test": [test_date.date().isoformat()]}

    # PDs are calibrated to the long-run default rate of every date before the test date (through the cycle).
    central_tendency = float(np.concatenate([y["train"], y["valid"]]).mean())
    results: dict[str, FamilyResult] = {}
    fitted: dict[str, object] = {}
    # the blend adds the scorecard's and the additive model's margins: fitted last, from those two
    ordered = sorted(families, key=lambda f: f == "blend")
    for family in ordered:
        started = time.perf_counter()
        estimator = make_estimator(family, catalogue)
        step = f"{family} ({len(results) + 1}/{len(families)})"
        say(f"{step}: fitting on {len(y['train']):,} rows")
        if isinstance(estimator, BlendModel):
            pieces = []
            for part in ("scorecard", "additive"):
                if part not in fitted:
                    say(f"{step}: fitting its {part} part")
                    fitted[part] = make_estimator(part, catalogue).fit(X["train"], y["train"],
                                                                       eval_set=(X["valid"], y["valid"]))
                pieces.append(fitted[part])
            estimator = BlendModel.of_parts(*pieces, X["valid"], y["valid"])
        elif isinstance(estimator, CreditForest):
            estimator.fit(X["train"], y["train"], progress=lambda n, _, step=step: say(f"{step}: {n} trees"))
        elif isinstance(estimator, CreditGBM):
            estimator.fit(X["train"], y["train"], eval_set=(X["valid"], y["valid"]),
                          progress=lambda n, best, step=step: say(f"{step}: round {n} (best so far {best})"))
        else:
            estimator.fit(X["train"], y["train"], eval_set=(X["valid"], y["valid"]))
        fitted[family] = estimator
        say(f"{step}: calibrating and testing")
        calibrator = Calibrator().fit(estimator.margin(X["valid"]), y["valid"],
                                      central_tendency=central_tendency)
        centres = {}
        if isinstance(estimator, ScorecardModel):
            # explanations are relative to the average training subject, as TreeSHAP's are
            centres = {"contribution_centres": estimator.contribution_centres_.tolist()}
        meta = {"training_windows": window, "rows": {k: len(v) for k, v in y.items()},
                "explainer": {"additive": "additive", "scorecard": "points", "blend": "blend"}.get(family,
                                                                                                 "treeshap"),
                "version": f"{segment}-{family}-{pd.Timestamp.now(tz='UTC'):%Y%m%d%H%M%S}", **centres}
        bundle = ModelBundle.from_estimator(estimator, segment=segment, family=family, catalogue=catalogue,
                                            calibrator=calibrator, scale=scale, meta=meta)
        valid_pd = bundle.predict(X["valid"])["pd"].to_numpy()
        test_pd = bundle.predict(X["test"])["pd"].to_numpy()
        train_pd = bundle.predict(X["train"])["pd"].to_numpy()
        validation = metrics.summary(y["valid"], valid_pd)
        test = metrics.summary(y["test"], test_pd)
        test["psi_score_train_vs_test"] = metrics.psi(scale.score.score(train_pd), scale.score.score(test_pd))
        test["calibration"] = calibrator.method_
        bundle.meta["metrics"] = {"validation": validation, "test": test}
        results[family] = FamilyResult(family, bundle, validation, test, metrics.grade_table(scale, y["test"], test_pd),
                                       time.perf_counter() - started, test_pd, train_pd,
                                       X["test"].set_axis(parts["test"]["subject_id"].to_numpy()))

    champion, rule = choose_champion({k: v.validation["auc"] for k, v in results.items()})
    oracle: dict[str, float] = {}
    test_frame = parts["test"][["subject_id", "default"]].copy()
    for family, r in results.items():
        test_frame[f"pd_{family}"] = r.test_pd
    if truth is not None:
        true = truth(test_date, segment).set_index("subject_id")["pd"]
        test_frame["true_pd"] = true.reindex(test_frame["subject_id"]).to_numpy()
        known = test_frame["true_pd"].notna().to_numpy()
        yt = test_frame["default"].to_numpy()[known]
        oracle = {"auc": float(roc_auc_score(yt, test_frame["true_pd"].to_numpy()[known])),
                  "ece": metrics.expected_calibration_error(yt, test_frame["true_pd"].to_numpy()[known])}
        for r in results.values():
            r.test["auc_vs_oracle"] = r.test["auc"] / oracle["auc"]
    for family, r in results.items():
        r.bundle.meta["champion"] = family == champion
        r.bundle.meta["oracle"] = oracle
    return TrainResult(segment=segment, catalogue=catalogue, dates=window, families=results, champion=champion,
                       rule=rule, oracle=oracle, test_frame=test_frame)
