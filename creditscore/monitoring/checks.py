"""Model monitoring a risk committee expects: stability, migration, back-testing and alerts.

* **PSI** of the score and of the grade distribution, and **CSI** of every indicator, of a
  current population against a reference (by default the model's training population);
* the **grade migration matrix** of the subjects graded at two dates;
* **back-testing**: per grade, the observed default rate of the 12 months after the date with its
  binomial confidence interval, against the mean predicted PD — a PD outside the interval is
  miscalibrated for that grade;
* **alerts** by the thresholds of ``models/monitoring.yaml``, each saying what an analyst should do.

Stability is measured on the *model's* grade and score: a policy override is not model drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.stats import beta, binomtest
from sklearn.metrics import roc_auc_score

from creditscore.config import load_yaml_model
from creditscore.decisions.scorer import Scorer
from creditscore.errors import InsufficientData
from creditscore.features.catalogue import Catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.modeling.fairness import FairnessConfig
from creditscore.policy import Policy
from creditscore.resources import MODELS_DIR
from creditscore.store import Store

__all__ = ["Alert", "MonitoringConfig", "MonitoringReport", "backtest", "binomial_interval",
           "characteristic_stability", "load_monitoring_config", "migration_matrix", "monitor", "psi",
           "stability_table"]

CONFIG_PATH = MODELS_DIR / "monitoring.yaml"
MISSING = "missing"
SHARE_FLOOR = 1e-4  # an empty bin counts as 0.01 %: PSI stays finite and an empty-vs-empty bin adds nothing


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    warn: float = Field(gt=0)
    alert: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.warn > self.alert:
            raise ValueError(f"warn ({self.warn}) must not exceed alert ({self.alert})")
        return self


class StabilityConfig(_Strict):
    bins: int = Field(10, ge=2, le=100)
    psi: Threshold
    csi: Threshold


class BacktestConfig(_Strict):
    confidence: float = Field(0.95, gt=0.5, lt=1)
    method: Literal["exact", "jeffreys", "wilson"] = "exact"
    min_count: int = Field(30, ge=1)


class DiscriminationConfig(_Strict):
    auc_drop: float = Field(0.05, gt=0, lt=0.5)


class MigrationConfig(_Strict):
    downgrade_share: float = Field(0.15, gt=0, le=1)


class MonitoringConfig(_Strict):
    version: str
    stability: StabilityConfig
    backtest: BacktestConfig
    discrimination: DiscriminationConfig
    migration: MigrationConfig
    fairness: FairnessConfig


def load_monitoring_config(path: str | Path | None = None) -> MonitoringConfig:
    return load_yaml_model(path or CONFIG_PATH, MonitoringConfig)


# --- stability ----------------------------------------------------------------------------------------


def _bins(reference: np.ndarray, bins: int) -> tuple[np.ndarray | None, list[object]]:
    """Interior edges from the reference's quantiles, or None with the categories for few-valued data."""
    seen = reference[~pd.isna(reference)]
    values = np.unique(seen)
    if len(values) <= bins:  # counts and flags: each value is its own bin
        return None, list(values)
    edges = np.unique(np.quantile(seen.astype(float), np.linspace(0, 1, bins + 1)[1:-1]))
    return edges, []


def stability_table(reference: np.ndarray | pd.Series, current: np.ndarray | pd.Series, *, bins: int = 10,
                    categories: list[object] | None = None) -> pd.DataFrame:
    """Shares of the reference and the current population per bin, and each bin's PSI contribution.

    Numeric data are cut at the reference's quantiles (equal-count bins); data with at most
    ``bins`` distinct values, or given ``categories``, are compared value by value. Missing
    values are a bin of their own: a feed that stops arriving is drift too.
    """
    ref = np.asarray(reference, dtype=object if categories is not None else float)
    cur = np.asarray(current, dtype=object if categories is not None else float)
    if categories is None:
        edges, cats = _bins(ref, bins)
    else:
        edges, cats = None, list(categories)
    rows = []

    def shares(x: np.ndarray) -> np.ndarray:
        missing = pd.isna(x)
        if edges is not None:
            idx = np.searchsorted(edges, x[~missing].astype(float), side="right")
            counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
        else:
            present = pd.Series(x[~missing])
            counts = present.value_counts().reindex(cats, fill_value=0).to_numpy(dtype=float)
        counts = np.append(counts, missing.sum())
        return counts / max(len(x), 1)

    e, a = shares(ref), shares(cur)
    if edges is not None:
        lowers = np.concatenate([[-np.inf], edges])
        uppers = np.concatenate([edges, [np.inf]])
        labels = [f"[{lo:.4g}, {hi:.4g})" for lo, hi in zip(lowers, uppers, strict=True)]
    else:
        lowers = uppers = np.full(len(cats), np.nan)
        labels = [str(c) for c in cats]
    labels.append(MISSING)
    lowers, uppers = np.append(lowers, np.nan), np.append(uppers, np.nan)
    ef, af = np.clip(e, SHARE_FLOOR, None), np.clip(a, SHARE_FLOOR, None)
    contribution = np.where((e == 0) & (a == 0), 0.0, (af - ef) * np.log(af / ef))
    for i, label in enumerate(labels):
        if label == MISSING and e[i] == 0 and a[i] == 0:
            continue
        rows.append({"bin": label, "lower": lowers[i], "upper": uppers[i], "reference_share": e[i],
                     "current_share": a[i], "contribution": contribution[i]})
    return pd.DataFrame(rows)


def psi(reference: np.ndarray | pd.Series, current: np.ndarray | pd.Series, *, bins: int = 10,
        categories: list[object] | None = None) -> float:
    """Population stability index: Σ (current − reference)·ln(current / reference) over the bins."""
    return float(stability_table(reference, current, bins=bins, categories=categories)["contribution"].sum())


def _level(value: float, threshold: Threshold) -> str:
    return "alert" if value > threshold.alert else "warn" if value > threshold.warn else "ok"


def characteristic_stability(reference: pd.DataFrame, current: pd.DataFrame, catalogue: Catalogue, *,
                             config: MonitoringConfig) -> pd.DataFrame:
    """CSI of every indicator, largest first, with missing shares and means of both populations."""
    rows = []
    for ind in catalogue.indicators:
        r, c = reference[ind.id].to_numpy(dtype=float), current[ind.id].to_numpy(dtype=float)
        value = psi(r, c, bins=config.stability.bins)
        rows.append({"indicator": ind.id, "name_zh": ind.name_zh, "name_en": ind.name_en, "family": ind.family.value,
                     "csi": value, "level": _level(value, config.stability.csi),
                     "missing_reference": float(np.isnan(r).mean()), "missing_current": float(np.isnan(c).mean()),
                     "mean_reference": float(np.nanmean(r)) if (~np.isnan(r)).any() else np.nan,
                     "mean_current": float(np.nanmean(c)) if (~np.isnan(c)).any() else np.nan})
    return pd.DataFrame(rows).sort_values("csi", ascending=False, kind="stable").reset_index(drop=True)


# --- migration ----------------------------------------------------------------------------------------


def migration_matrix(before: pd.Series, after: pd.Series, order: list[str]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Counts of subjects by grade at the first date (rows) and the second (columns), and a summary.

    Only subjects graded at both dates migrate; those graded at one only are counted as new or gone.
    ``order`` lists the grades from the best, so a move to the right is a downgrade.
    """
    for s, when in ((before, "first"), (after, "second")):
        if s.index.has_duplicates:
            raise ValueError(f"a subject is graded twice at the {when} date: one grade per subject and date")
    both = before.index.intersection(after.index)
    b = pd.Categorical(before.loc[both], categories=order)
    a = pd.Categorical(after.loc[both], categories=order)
    matrix = pd.crosstab(b, a, dropna=False).reindex(index=order, columns=order, fill_value=0)
    matrix.index.name, matrix.columns.name = "from", "to"
    rank = {g: i for i, g in enumerate(order)}
    step = np.array([rank[x] for x in after.loc[both]]) - np.array([rank[x] for x in before.loc[both]])
    n = len(both)
    summary = {
        "subjects_both": n, "new": len(after.index.difference(before.index)),
        "gone": len(before.index.difference(after.index)),
        "stable_share": float((step == 0).mean()) if n else np.nan,
        "upgraded_share": float((step < 0).mean()) if n else np.nan,
        "downgraded_share": float((step > 0).mean()) if n else np.nan,
        "downgraded_2plus_share": float((step >= 2).mean()) if n else np.nan,
    }
    return matrix, summary


# --- back-testing -------------------------------------------------------------------------------------


def binomial_interval(defaults: int, count: int, *, confidence: float = 0.95,
                      method: str = "exact") -> tuple[float, float]:
    """Two-sided confidence interval of a default rate: Clopper–Pearson (exact), Jeffreys or Wilson."""
    if count == 0:
        return (np.nan, np.nan)
    if method == "jeffreys":  # the ECB's back-test of PD models uses the Jeffreys prior Beta(½, ½)
        alpha = 1 - confidence
        low = 0.0 if defaults == 0 else float(beta.ppf(alpha / 2, defaults + 0.5, count - defaults + 0.5))
        high = 1.0 if defaults == count else float(beta.ppf(1 - alpha / 2, defaults + 0.5, count - defaults + 0.5))
        return low, high
    ci = binomtest(defaults, count).proportion_ci(confidence_level=confidence, method=method)
    return float(ci.low), float(ci.high)


def backtest(pd_: np.ndarray, defaults: np.ndarray, grades: np.ndarray, order: list[str], *,
             config: MonitoringConfig) -> pd.DataFrame:
    """Per grade (and all together): predicted PD against the observed default rate and its interval.

    ``verdict``: *consistent* when the mean PD lies inside the interval; *PD too low* when the
    observed rate is significantly above it (the dangerous side: risk under-stated); *PD too high*
    below it; *not judged* under ``min_count`` subjects. ``p_value`` is the one-sided binomial test
    of "the true default rate is not above the mean PD".
    """
    cfg = config.backtest
    pd_, defaults, grades = np.asarray(pd_, dtype=float), np.asarray(defaults, dtype=int), np.asarray(grades)
    rows = []
    for grade in [*order, "all"]:
        m = np.ones(len(pd_), dtype=bool) if grade == "all" else grades == grade
        n, k = int(m.sum()), int(defaults[m].sum())
        mean_pd = float(pd_[m].mean()) if n else np.nan
        low, high = binomial_interval(k, n, confidence=cfg.confidence, method=cfg.method)
        if n < cfg.min_count:
            verdict = "not judged"
        elif mean_pd < low:
            verdict = "PD too low"
        elif mean_pd > high:
            verdict = "PD too high"
        else:
            verdict = "consistent"
        p = float(binomtest(k, n, min(max(mean_pd, 1e-12), 1 - 1e-12), alternative="greater").pvalue) if n else np.nan
        rows.append({"grade": grade, "count": n, "defaults": k, "observed_rate": k / n if n else np.nan,
                     "mean_pd": mean_pd, "ci_low": low, "ci_high": high, "p_value": p, "verdict": verdict})
    return pd.DataFrame(rows)


# --- the report ---------------------------------------------------------------------------------------


@dataclass
class Alert:
    level: str  # "warn" or "alert"
    check: str  # score_psi, grade_psi, csi, backtest, discrimination, migration
    subject: str  # what it is about: "score", an indicator id, a grade
    value: float
    threshold: float
    message: str
    action: str


ACTIONS = {
    "score_psi": "The population scored now differs from the one the model learnt from. Check the intake "
                 "(a new bank product, a new region, a feed change) before trusting grades; if the shift is "
                 "real and lasting, retrain on recent snapshots (notebook 02) and compare out of time.",
    "grade_psi": "The grade mix has moved: re-check limits and pricing tied to grades, and whether the score "
                 "shift explains it (see the score PSI and the indicators with the largest CSI).",
    "csi": "This indicator's distribution has moved. First rule out a data problem (a feed stopped or changed "
           "its coding: look at the missing share); if the change is real, see how much the indicator "
           "weighs in the model (notebook 04) before deciding to retrain.",
    "backtest": "Observed defaults in this grade are outside the predicted PD's confidence interval. Re-calibrate "
                "(the calibrator is refitted on recent outcomes by `creditscore train`) and report to the "
                "risk committee; if the risk is under-stated, tighten the grade's terms until then.",
    "discrimination": "The model ranks risk worse than when it was validated: retrain and run the challenger "
                      "comparison (notebook 02); do not promote a model that does not beat the champion out of time.",
    "migration": "Many subjects fell two or more notches between the dates: check for a macro shock or a data "
                 "change in the indicators that drive the downgrades before acting on the grades.",
}


@dataclass
class MonitoringReport:
    segment: str
    model_version: str
    config_version: str
    reference: str  # what the reference population is
    current_date: dt.date
    reference_count: int
    current_count: int
    score_psi: float
    score_table: pd.DataFrame
    grade_psi: float
    grade_table: pd.DataFrame
    csi: pd.DataFrame
    previous_date: dt.date | None = None
    migration: pd.DataFrame | None = None
    migration_summary: dict[str, float] = field(default_factory=dict)
    backtest: pd.DataFrame | None = None
    backtest_note: str = ""
    discrimination: dict[str, float] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # for charts

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON: the numbers a scheduler or a dashboard reads."""

        def records(frame: pd.DataFrame | None) -> list[dict[str, object]] | None:
            if frame is None:
                return None
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                    for r in frame.to_dict("records")]

        return {
            "segment": self.segment, "model_version": self.model_version, "config_version": self.config_version,
            "reference": self.reference, "current_date": self.current_date.isoformat(),
            "previous_date": self.previous_date.isoformat() if self.previous_date else None,
            "counts": {"reference": self.reference_count, "current": self.current_count},
            "score_psi": self.score_psi, "grade_psi": self.grade_psi,
            "score_bins": records(self.score_table), "grade_bins": records(self.grade_table),
            "csi": records(self.csi),
            "migration": None if self.migration is None else {
                "matrix": {str(k): {str(c): int(v) for c, v in row.items()} for k, row in
                           self.migration.to_dict("index").items()}, **self.migration_summary},
            "backtest": records(self.backtest), "backtest_note": self.backtest_note,
            "discrimination": self.discrimination,
            "alerts": [a.__dict__ for a in self.alerts],
        }


def _alerts(report: MonitoringReport, config: MonitoringConfig, test_auc: float | None) -> list[Alert]:
    out = []
    s = config.stability
    for check, value, subject in (("score_psi", report.score_psi, "score"), ("grade_psi", report.grade_psi, "grade")):
        level = _level(value, s.psi)
        if level != "ok":
            threshold = s.psi.alert if level == "alert" else s.psi.warn
            out.append(Alert(level, check, subject, value, threshold,
                             f"{subject} PSI {value:.3f} is above {threshold:.2f}", ACTIONS[check]))
    for r in report.csi.itertuples():
        if r.level != "ok":
            threshold = s.csi.alert if r.level == "alert" else s.csi.warn
            out.append(Alert(r.level, "csi", r.indicator, r.csi, threshold,
                             f"{r.name_en} ({r.name_zh}) CSI {r.csi:.3f} is above {threshold:.2f}", ACTIONS["csi"]))
    if report.backtest is not None:
        for r in report.backtest.itertuples():
            if r.verdict in ("PD too low", "PD too high"):
                level = "alert" if r.verdict == "PD too low" else "warn"
                bound = r.ci_low if r.verdict == "PD too low" else r.ci_high
                out.append(Alert(level, "backtest", r.grade, r.observed_rate, r.mean_pd,
                                 f"grade {r.grade}: observed default rate {r.observed_rate:.2%} of {r.count:,} vs "
                                 f"mean PD {r.mean_pd:.2%} — outside the {config.backtest.confidence:.0%} interval "
                                 f"({r.ci_low:.2%}–{r.ci_high:.2%}); {r.verdict} (interval bound {bound:.2%})",
                                 ACTIONS["backtest"]))
    auc = report.discrimination.get("auc")
    if auc is not None and test_auc is not None and auc < test_auc - config.discrimination.auc_drop:
        out.append(Alert("alert", "discrimination", "auc", auc, test_auc - config.discrimination.auc_drop,
                         f"AUC {auc:.3f} is more than {config.discrimination.auc_drop:.2f} below the model's "
                         f"out-of-time test AUC {test_auc:.3f}", ACTIONS["discrimination"]))
    down = report.migration_summary.get("downgraded_2plus_share")
    if down is not None and np.isfinite(down) and down > config.migration.downgrade_share:
        out.append(Alert("warn", "migration", "grades", down, config.migration.downgrade_share,
                         f"{down:.1%} of subjects fell two or more notches since {report.previous_date}",
                         ACTIONS["migration"]))
    order = {"alert": 0, "warn": 1}
    return sorted(out, key=lambda a: (order[a.level], -abs(a.value)))


def _model_view(bundle: ModelBundle, features: pd.DataFrame, catalogue: Catalogue, policy: Policy) -> pd.DataFrame:
    from creditscore.decisions.scoring import score

    return score(bundle, features[catalogue.ids], catalogue=catalogue, policy=policy, with_reasons=False).decisions


def monitor(bundle: ModelBundle, catalogue: Catalogue, policy: Policy, *, reference: pd.DataFrame,
            current: pd.DataFrame, current_date: object, reference_label: str = "reference population",
            previous: pd.DataFrame | None = None, previous_date: object | None = None,
            defaults: pd.Series | None = None, config: MonitoringConfig | None = None) -> MonitoringReport:
    """Monitor ``current`` (indicators, one row per subject) against ``reference``.

    ``previous`` (indicators at an earlier date) gives the migration matrix; ``defaults`` (1 if the
    subject defaulted in the 12 months after ``current_date``, indexed like ``current``) gives the
    back-test and the AUC.
    """
    config = config or load_monitoring_config()
    bins = config.stability.bins
    ref_view = _model_view(bundle, reference, catalogue, policy)
    cur_view = _model_view(bundle, current, catalogue, policy)
    order = bundle.scale.names
    score_table = stability_table(ref_view["score"].to_numpy(), cur_view["score"].to_numpy(), bins=bins)
    grade_table = stability_table(ref_view["model_grade"].to_numpy(), cur_view["model_grade"].to_numpy(),
                                  categories=order)
    report = MonitoringReport(
        segment=bundle.segment, model_version=bundle.version_label, config_version=config.version,
        reference=reference_label, current_date=pd.Timestamp(current_date).date(),
        reference_count=len(reference), current_count=len(current),
        score_psi=float(score_table["contribution"].sum()), score_table=score_table,
        grade_psi=float(grade_table["contribution"].sum()), grade_table=grade_table,
        csi=characteristic_stability(reference, current, catalogue, config=config),
        scores={"reference": ref_view["score"].to_numpy(), "current": cur_view["score"].to_numpy()})
    if previous is not None:
        prev_view = _model_view(bundle, previous, catalogue, policy)
        report.previous_date = pd.Timestamp(previous_date).date() if previous_date is not None else None
        report.migration, report.migration_summary = migration_matrix(prev_view["model_grade"],
                                                                      cur_view["model_grade"], order)
    if defaults is not None:
        y = defaults.reindex(cur_view.index)
        known = y.notna().to_numpy()
        yk = y[known].astype(int).to_numpy()
        report.backtest = backtest(cur_view["pd"].to_numpy()[known], yk,
                                   cur_view["model_grade"].to_numpy()[known], order, config=config)
        if 0 < yk.sum() < len(yk):
            report.discrimination = {"auc": float(roc_auc_score(yk, cur_view["pd"].to_numpy()[known])),
                                     "subjects": int(known.sum()), "defaults": int(yk.sum())}
    test_auc = (bundle.meta.get("metrics", {}).get("test") or {}).get("auc")
    if report.discrimination:
        report.discrimination["test_auc"] = test_auc
    report.alerts = _alerts(report, config, test_auc)
    return report


def monitor_store(store: Store, scorer: Scorer, date: object, *, reference_dates: list[object] | None = None,
                  previous_date: object | None = None, config: MonitoringConfig | None = None,
                  horizon_days: int = 365) -> MonitoringReport:
    """Monitor the subjects with a loan outstanding at ``date``, from the store, point in time.

    The reference is the model's training population (its training observation dates, rebuilt
    from the store) unless ``reference_dates`` are given; the migration compares with
    ``previous_date`` (default: a year before). Back-testing needs the 12 months after ``date``
    to have happened in the data: otherwise it is skipped, and the report says so.
    """
    from creditscore.features.snapshots import build_snapshots
    from creditscore.store.features import store_records

    bundle, catalogue, policy, segment = scorer.bundle, scorer.catalogue, scorer.policy, scorer.segment
    t = pd.Timestamp(date)
    if reference_dates is None:
        reference_dates = list(bundle.meta.get("training_windows", {}).get("train", []))
        label = f"the model's training population ({', '.join(map(str, reference_dates))})"
    else:
        label = f"subjects with a loan outstanding on {', '.join(str(pd.Timestamp(d).date()) for d in reference_dates)}"
    if not reference_dates:
        raise InsufficientData("the bundle records no training dates: give reference dates (--reference)")
    previous = pd.Timestamp(previous_date) if previous_date is not None else t - pd.DateOffset(years=1)
    records = store_records(store, catalogue)
    ref_dates = {pd.Timestamp(d) for d in reference_dates}
    snaps = build_snapshots(records, catalogue, sorted(ref_dates | {previous, t}), policy, horizon_days=horizon_days)
    reference = snaps[snaps["as_of"].isin(ref_dates)].set_index("subject_id")
    current = snaps[snaps["as_of"] == t].set_index("subject_id")
    before = snaps[snaps["as_of"] == previous].set_index("subject_id")
    if current.empty:
        raise InsufficientData(f"no {segment} subject has a loan outstanding on {t.date()}: nothing to monitor "
                               "(choose another --date)")
    latest = store.latest_publication()
    complete = latest is not None and t + pd.Timedelta(days=horizon_days) <= pd.Timestamp(latest)
    report = monitor(bundle, catalogue, policy, reference=reference, current=current, current_date=t,
                     reference_label=label, previous=before if len(before) else None, previous_date=previous,
                     defaults=current["default"] if complete else None, config=config)
    if not complete:
        report.backtest_note = (f"not back-tested: the 12 months after {t.date()} are not all in the data "
                                f"(latest record published {latest})")
    return report
