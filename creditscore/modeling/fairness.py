"""Fairness: how a model treats groups of people and places it must not treat unreasonably differently.

PIPL art. 24 forbids unreasonable differential treatment by automated decisions. Sex and age are never model
inputs, but a model can still treat them differently through what correlates with them; this report measures it.
Groups are derived from the identifiers alone, as of the date, and used for nothing else:

* **sex** — the resident ID's 17th digit (odd: 男, even: 女); households only;
* **age band** — from the ID's birth date, at the as-of date (bands in ``models/monitoring.yaml``); households;
* **county** — the ID's first six digits (the county of household registration) or the USCC's 3rd–8th
  characters (the registering authority's division).

Per group: subjects, defaults, AUC, mean PD against the observed default rate (calibration), the grade mix and
the **approval rate** (the grades the policy lends to: ``loan_terms.<segment>.eligible_grades``). The
**disparate-impact ratio** is a group's approval rate over the best-approved group's in the same dimension (the
"four-fifths" rule: below 0.8 warrants a look, below 2/3 an alert); a group with fewer than ``min_count``
subjects is shown but not judged. Every finding names its action.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.metrics import roc_auc_score

from creditscore.resources import MODELS_DIR

__all__ = ["FairnessConfig", "FairnessFinding", "fairness_findings", "fairness_table", "groups_of",
           "load_fairness_config"]

ACTION = ("Review the group's outcomes with the risk committee before the model is used: check whether the "
          "difference is explained by the credit indicators themselves (debt, arrears, court records) rather "
          "than by who the subjects are; look at the indicators whose values differ most between the groups; "
          "if it is not explained, do not promote the model — retrain without the indicators that act as proxies "
          "and compare again (PIPL art. 24: no unreasonable differential treatment by automated decisions).")


class FairnessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    impact_warn: float = Field(0.8, gt=0, le=1)  # approval-rate ratio to the best-approved group
    impact_alert: float = Field(2 / 3, gt=0, le=1)
    auc_gap: float = Field(0.05, gt=0, lt=0.5)  # a group's AUC this far below the whole population's
    calibration_gap: float = Field(0.03, gt=0, lt=1)  # |mean PD − observed default rate| in a group
    min_count: int = Field(50, ge=1)
    age_bands: list[int] = Field(default_factory=lambda: [30, 45, 60])

    @model_validator(mode="after")
    def _ordered(self) -> FairnessConfig:
        if self.impact_alert > self.impact_warn:
            raise ValueError("impact_alert must not exceed impact_warn")
        if self.age_bands != sorted(self.age_bands):
            raise ValueError("age_bands must be ascending")
        return self


def load_fairness_config(path: str | None = None) -> FairnessConfig:
    """The ``fairness`` section of ``models/monitoring.yaml`` (the committee's thresholds live together)."""
    import yaml

    with open(path or MODELS_DIR / "monitoring.yaml", encoding="utf-8") as fh:
        return FairnessConfig.model_validate(yaml.safe_load(fh)["fairness"])


def _band(age: float, bands: list[int]) -> str:
    if np.isnan(age):
        return "unknown"
    edges = [0, *bands]
    for low, high in zip(edges, [*bands, None], strict=True):
        if high is None or age < high:
            return f"{low}+" if high is None else f"{low}–{high - 1}"
    return "unknown"


def groups_of(subject_ids: pd.Series, segment: str, as_of: object, config: FairnessConfig) -> pd.DataFrame:
    """The groups of each subject, from its identifier only (index aligned with ``subject_ids``)."""
    ids = subject_ids.astype(str)
    if segment == "household":
        valid = ids.str.fullmatch(r"\d{17}[\dX]")
        sex = np.where(~valid, "unknown", np.where(ids.str[16].where(valid, "0").astype(int) % 2 == 1, "男", "女"))
        born = pd.to_datetime(ids.str[6:14].where(valid), format="%Y%m%d", errors="coerce")
        age = (pd.Timestamp(as_of) - born).dt.days / 365.25
        return pd.DataFrame({"sex": sex, "age_band": [_band(a, config.age_bands) for a in age],
                             "county": ids.str[:6].where(valid, "unknown")}, index=subject_ids.index)
    county = ids.str[2:8].where(ids.str.len() == 18, "unknown")
    return pd.DataFrame({"county": county}, index=subject_ids.index)


def fairness_table(subject_ids: pd.Series, pd_: np.ndarray, grades: np.ndarray, default: np.ndarray | None, *,
                   segment: str, as_of: object, approved_grades: list[str], config: FairnessConfig) -> pd.DataFrame:
    """One row per dimension and group: counts, AUC, calibration, grade mix, approval rate, impact ratio.

    ``approved_grades``: the grades the policy lends to (its ``eligible_grades``), so the approval rate here is the
    one the bank's decisions have."""
    subject_ids = pd.Series(np.asarray(subject_ids), dtype=object)
    groups = groups_of(subject_ids, segment, as_of, config)
    approved = np.isin(np.asarray(grades).astype(str), approved_grades)
    frame = pd.DataFrame({"pd": np.asarray(pd_, float), "grade": np.asarray(grades).astype(str),
                          "approved": approved})
    if default is not None:
        frame["default"] = np.asarray(default, float)
    rows = []
    for dimension in groups.columns:
        for group, part in frame.groupby(groups[dimension].to_numpy(), sort=True):
            row: dict[str, object] = {"dimension": dimension, "group": str(group), "subjects": len(part),
                                      "mean_pd": part["pd"].mean(), "approval_rate": part["approved"].mean(),
                                      "grade_mix": part["grade"].value_counts(normalize=True).round(4).to_dict()}
            if default is not None:
                y = part["default"].to_numpy()
                row.update(defaults=int(y.sum()), default_rate=float(y.mean()),
                           calibration_gap=float(part["pd"].mean() - y.mean()),
                           auc=float(roc_auc_score(y, part["pd"])) if 0 < y.sum() < len(y) else np.nan)
            rows.append(row)
    table = pd.DataFrame(rows)
    if not len(table):
        return table
    judged = table["subjects"] >= config.min_count
    best = table[judged].groupby("dimension")["approval_rate"].max()
    table["impact_ratio"] = table["approval_rate"] / table["dimension"].map(best).replace(0, np.nan)
    table["judged"] = judged
    return table


class FairnessFinding(BaseModel):
    level: str  # warn or alert
    dimension: str
    group: str
    check: str  # impact, auc, calibration
    value: float
    threshold: float
    message: str
    action: str = ACTION


def fairness_findings(table: pd.DataFrame, *, overall_auc: float | None,
                      config: FairnessConfig) -> list[FairnessFinding]:
    """The thresholds crossed, each with its action (groups too small to judge are skipped)."""
    out = []
    if not len(table):
        return out
    for r in table[table["judged"]].itertuples():
        if not np.isnan(r.impact_ratio) and r.impact_ratio < config.impact_warn:
            level = "alert" if r.impact_ratio < config.impact_alert else "warn"
            out.append(FairnessFinding(
                level=level, dimension=r.dimension, group=r.group, check="impact", value=float(r.impact_ratio),
                threshold=config.impact_warn if level == "warn" else config.impact_alert,
                message=f"{r.dimension} {r.group}: approved {r.approval_rate:.1%}, {r.impact_ratio:.2f} of the "
                        f"best-approved group's rate (threshold {config.impact_warn:.2f})"))
        auc = getattr(r, "auc", np.nan)
        if overall_auc is not None and not np.isnan(auc) and auc < overall_auc - config.auc_gap:
            out.append(FairnessFinding(
                level="warn", dimension=r.dimension, group=r.group, check="auc", value=float(auc),
                threshold=overall_auc - config.auc_gap,
                message=f"{r.dimension} {r.group}: AUC {auc:.3f}, {overall_auc - auc:.3f} below the whole "
                        f"population's {overall_auc:.3f} — the model ranks this group's risk less well"))
        gap = getattr(r, "calibration_gap", np.nan)
        if not np.isnan(gap) and abs(gap) > config.calibration_gap:
            out.append(FairnessFinding(
                level="warn", dimension=r.dimension, group=r.group, check="calibration", value=float(gap),
                threshold=config.calibration_gap,
                message=f"{r.dimension} {r.group}: mean PD {r.mean_pd:.2%} against {r.default_rate:.2%} observed "
                        f"— {'over' if gap > 0 else 'under'}-estimated by {abs(gap):.2%}"))
    return out
