"""From PD to decision: master-scale grade, policy overrides and red list, 信易贷 loan terms.

Vectorised over a batch: each rule is one boolean mask over all subjects, so a
million subjects cost a few array operations per rule, not a Python loop per
subject. The model grade and the final grade are both kept, with the rules that
moved one to the other, so every decision can be explained and challenged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditscore.modeling.scales import MasterScale
from creditscore.policy import Condition, Policy

__all__ = ["LINE_BASIS", "TAX_GRADE", "decide", "decide_columns"]

#: Why a credit line is what it is (``line_basis`` column), in words.
LINE_BASIS = {
    "taxes_multiple": ("额度为纳税信用等级对应倍数×上年实缴税额",
                       "line = the tax grade's multiple × taxes paid last year"),
    "grade_cap": ("额度为该信用等级的上限", "line = the cap for this grade"),
    "product_cap": ("额度为纯信用贷款产品上限", "line = the product's cap for pure credit loans"),
    "score_band": ("额度按信用户评分区间确定", "line set by the household's score band"),
    "ineligible_override": ("因失信惩戒规则不予授信", "no credit: a blacklist rule applies"),
    "ineligible_grade": ("信用等级未达到授信要求", "no credit: the grade is below the eligible grades"),
    "ineligible_tax_grade": ("纳税信用等级不适用银税互动",
                             "no credit: the tax grade does not qualify for tax-based loans"),
    "no_tax_record": ("无纳税记录，不适用银税互动", "no credit: no tax record for a tax-based loan"),
}
#: The indicator the 信易贷 terms read the tax credit grade from (its letters are the catalogue's ``encode``).
TAX_GRADE = "tax_grade_latest"


class _Columns:
    """Indicator columns as float arrays, each read once.

    For a few subjects (the service's one-subject path) the frame is read as one matrix: a pandas column
    access costs more than a rule's arithmetic on one row.
    """

    def __init__(self, features: pd.DataFrame) -> None:
        self.features = features
        self.matrix = features.to_numpy(dtype=float) if len(features) < 1_000 else None
        self.position = {c: i for i, c in enumerate(features.columns)}
        self.cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.cache:
            self.cache[name] = (self.matrix[:, self.position[name]] if self.matrix is not None
                                else self.features[name].to_numpy(dtype=float))
        return self.cache[name]


def _holds(conditions: list[Condition], columns: _Columns) -> np.ndarray:
    mask = np.ones(len(columns.features), dtype=bool)
    for cond in conditions:
        mask &= cond.holds(columns[cond.indicator])
    return mask


def _rule_ids(applied: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """Per subject, the tuple of rule ids that applied, in the policy's order (a list in the record, never a
    joined string to split again). Rules apply to few subjects: only those rows build a tuple."""
    out = np.empty(n, dtype=object)
    out.fill(())
    if applied:
        any_rule = np.logical_or.reduce([mask for _, mask in applied])
        for i in np.flatnonzero(any_rule).tolist():
            out[i] = tuple(rule for rule, mask in applied if mask[i])
    return out


def decide(segment: str, features: pd.DataFrame, pd_: np.ndarray, *, policy: Policy,
           scale: MasterScale, labels: dict[str, str] | None = None, tax_grades: np.ndarray | None = None
           ) -> pd.DataFrame:
    """:func:`decide_columns` as a DataFrame indexed like ``features``."""
    return pd.DataFrame(decide_columns(segment, features, pd_, policy=policy, scale=scale, labels=labels,
                                       tax_grades=tax_grades), index=features.index)


def decide_columns(segment: str, features: pd.DataFrame, pd_: np.ndarray, *, policy: Policy,
                   scale: MasterScale, labels: dict[str, str] | None = None, tax_grades: np.ndarray | None = None
                   ) -> dict[str, np.ndarray]:
    """Grades and loan terms for every row of ``features`` with calibrated PD ``pd_``.

    Columns: ``pd``, ``score``, ``model_grade``, ``final_grade``, ``overrides`` (a tuple of rule ids per subject),
    ``red_list`` (the same), ``eligible``, ``credit_line_yuan``, ``line_basis``, ``rate_adjustment_bp``,
    ``max_term_months``, ``policy_version``, and one constant column per entry of ``labels``
    (e.g. the model version). ``tax_grades``: firms' latest tax grade letters (None: no record), decoded by
    the catalogue (:meth:`creditscore.features.catalogue.Indicator.decode`); SMEs need them for their terms.
    """
    n = len(features)
    columns = _Columns(features)
    names = np.array(scale.names, dtype=object)
    score = scale.score.score(pd_)
    model_idx = scale.grade_index(pd_)
    final_idx = model_idx.copy()
    overridden = np.zeros(n, dtype=bool)
    ineligible = np.zeros(n, dtype=bool)
    overrides: list[tuple[str, np.ndarray]] = []
    for rule in policy.overrides:
        if segment not in rule.segments:
            continue
        mask = _holds(rule.when, columns)
        if segment in rule.cap:
            cap = scale.names.index(rule.cap[segment])
            final_idx = np.where(mask, np.maximum(final_idx, cap), final_idx)
        ineligible |= mask & rule.ineligible
        overridden |= mask
        overrides.append((rule.id, mask))

    red: list[tuple[str, np.ndarray]] = []
    remaining = np.full(n, policy.red_list.max_total_uplift)
    for rule in policy.red_list.rules:
        if segment not in rule.segments:
            continue
        best = scale.names.index(rule.best)
        mask = _holds(rule.when, columns) & ~overridden  # no lift for a subject under a blacklist rule
        step = np.minimum(np.minimum(rule.uplift, remaining), np.maximum(final_idx - best, 0))
        step = np.where(mask, step, 0)
        final_idx = final_idx - step
        remaining = remaining - step
        red.append((rule.id, step > 0))

    out: dict[str, np.ndarray] = {"pd": pd_, "score": score, "model_grade": names[model_idx],
                                  "final_grade": names[final_idx], "overrides": _rule_ids(overrides, n),
                                  "red_list": _rule_ids(red, n)}
    _loan_terms(segment, columns, out, ineligible, policy, letters=tax_grades)
    out["policy_version"] = np.full(n, policy.version, dtype=object)
    for name, value in (labels or {}).items():
        out[name] = np.full(n, value, dtype=object)
    return out


def _loan_terms(segment: str, features: _Columns, out: dict[str, np.ndarray], ineligible: np.ndarray,
                policy: Policy, *, letters: np.ndarray | None) -> None:
    terms = policy.loan_terms
    n = len(out["pd"])
    grade = out["final_grade"]
    line = np.zeros(n)
    basis = np.full(n, "", dtype=object)
    if terms is None:
        out.update(eligible=np.zeros(n, bool), credit_line_yuan=np.zeros(n), line_basis=np.full(n, "", object),
                   rate_adjustment_bp=np.full(n, np.nan), max_term_months=np.full(n, np.nan))
        return
    t = terms.sme if segment == "sme" else terms.household
    grade_ok = np.isin(grade, t.eligible_grades)
    eligible = grade_ok & ~ineligible
    basis[~grade_ok] = "ineligible_grade"
    basis[ineligible] = "ineligible_override"
    if segment == "sme":
        if letters is None:
            raise ValueError("SME loan terms need the firms' tax grades (decide_columns(tax_grades=...))")
        taxes = features["taxes_paid_last_year"]
        tax_ok = np.isin(letters, t.tax_grades)
        no_record = np.isnan(taxes) | np.array([g is None for g in letters], dtype=bool)
        basis[eligible & no_record] = "no_tax_record"
        basis[eligible & ~no_record & ~tax_ok] = "ineligible_tax_grade"
        eligible &= tax_ok & ~no_record
        multiple = _lookup(letters, t.taxes_multiple, 0.0)
        by_taxes = multiple * np.nan_to_num(taxes)
        by_grade = _lookup(grade, t.grade_cap_yuan, 0.0)
        candidates = np.column_stack([by_taxes, by_grade, np.full(n, float(t.product_cap_yuan))])
        which = np.argmin(candidates, axis=1)
        line = np.where(eligible, candidates[np.arange(n), which], 0.0)
        basis = np.where(eligible, np.array(["taxes_multiple", "grade_cap", "product_cap"], dtype=object)[which],
                         basis)
    else:
        score = out["score"]
        band_line = np.zeros(n)
        for band in t.line_bands:
            inside = (score >= band.lower) & ((score < band.upper) | (band.upper >= 100) & (score <= band.upper))
            band_line = np.where(inside, band.line_yuan, band_line)
        line = np.where(eligible, band_line, 0.0)
        basis = np.where(eligible, "score_band", basis)
    out["eligible"] = eligible
    out["credit_line_yuan"] = np.floor(line / 10_000) * 10_000  # banks grant lines in whole 10,000 yuan
    out["line_basis"] = basis
    out["rate_adjustment_bp"] = np.where(eligible, _lookup(grade, t.rate_adjustment_bp), np.nan)
    out["max_term_months"] = np.where(eligible, _lookup(grade, t.max_term_months), np.nan)


def _lookup(keys: np.ndarray, table: dict[str, float], default: float = np.nan) -> np.ndarray:
    """Dict lookup over an array: a hash join for batches; plain Python for a handful (pandas costs more there)."""
    if len(keys) < 256:
        return np.array([table.get(k, default) if k is not None else default for k in keys], dtype=float)
    return pd.Series(keys, dtype=object).map(table).fillna(default).to_numpy(dtype=float)
