"""Contributions: each indicator's share of a subject's log-odds of default.

What the numbers mean
---------------------
A contribution is in **log-odds of default**, relative to the **base value**: the
model's average margin over its training population. For every subject,

    base value + Σ contributions = the model's margin (log-odds, before calibration)

exactly (to floating-point precision). A positive contribution pushed this
subject's risk *up* compared with the average subject (an adverse reason); a
negative one pushed it down (a favourable reason). The calibrated PD is a
monotone function of the margin, so the reasons' order and sign carry over to
the PD; their sizes are on the log-odds scale, not in PD points.

For tree models the contributions are TreeSHAP values (LightGBM's native
``pred_contrib``, which ``shap.TreeExplainer`` computes identically — a test
checks the agreement); for additive models (every tree on one indicator) the
same values come exactly and ~30× faster from the leaves (:mod:`creditscore.modeling.additive`);
for the scorecard they are each indicator's ``coefficient × WOE`` centred on the
training population, i.e. its points.
Everything is vectorised: no Python loop runs per subject to compute them.

The readable reasons made from them are :mod:`creditscore.decisions.reasons` (worded by the catalogue); for an
analyst's own estimator on their own table, :func:`named_reasons` words them from the column names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditscore.modeling.bundle import ModelBundle
from creditscore.modeling.estimators import BlendModel, CreditForest, CreditGBM, ScorecardModel

__all__ = ["Explanation", "explain", "named_reasons"]


@dataclass
class Explanation:
    """Per-subject contributions of every indicator (log-odds of default)."""

    subjects: pd.Index
    feature_names: list[str]
    values: np.ndarray  # (n, k) the indicators' values
    contributions: np.ndarray  # (n, k)
    base_value: float
    margin: np.ndarray  # (n,) = base_value + contributions.sum(axis=1)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.contributions, index=self.subjects, columns=self.feature_names)


def explain(model: ModelBundle | CreditGBM | CreditForest | ScorecardModel | BlendModel, X: pd.DataFrame, *,  # noqa: N803
            threads: int = 0) -> Explanation:
    """Contributions for every row of ``X``: a model bundle's indicators, or any fitted estimator of ours on the
    table it was fitted on (a plain DataFrame with its own columns — text and categories included)."""
    if isinstance(model, BlendModel):  # weighted parts: contributions still add up to the margin
        parts = [explain(part, X, threads=threads) for part in model.parts_]
        w = model.weights_
        values = sum(wj * part.contributions for wj, part in zip(w, parts, strict=True))
        base = model.intercept_ + sum(wj * part.base_value for wj, part in zip(w, parts, strict=True))
        return Explanation(subjects=parts[0].subjects, feature_names=parts[0].feature_names, values=parts[0].values,
                           contributions=values, base_value=base, margin=base + values.sum(axis=1))
    if isinstance(model, CreditGBM | ScorecardModel):
        return _explain_estimator(model, X, threads=threads)
    bundle = model
    matrix = bundle.matrix(X)
    threads = threads or (1 if len(matrix) < 1000 else 0)  # a few rows: one thread, no OpenMP fan-out
    additive = bundle.additive_explainer
    if bundle.blend is not None:  # weighted parts: one-column trees and points, still adding up to the margin
        assert additive is not None
        w = bundle.blend["weights"]
        sc = bundle.scorecard
        centres = np.asarray(bundle.meta["contribution_centres"], float)
        points = sc._woe(pd.DataFrame(matrix, columns=bundle.feature_names)) * sc.coef_ - centres
        trees = additive.contributions(bundle.booster, matrix, threads=threads)
        values = w[0] * points + w[1] * trees
        base = float(bundle.blend["intercept"] + w[0] * (sc.intercept_ + centres.sum()) + w[1] * additive.base_value)
    elif additive is not None:
        values = additive.contributions(bundle.booster, matrix, threads=threads)
        base = additive.base_value
    elif bundle.booster is not None:
        contrib = bundle.booster.predict(matrix, pred_contrib=True, num_threads=threads) * bundle.raw_scale
        values, base = contrib[:, :-1], float(contrib[0, -1]) if len(contrib) else 0.0
    else:
        sc = bundle.scorecard
        assert sc is not None
        woe = sc._woe(pd.DataFrame(matrix, columns=bundle.feature_names))
        centres = np.asarray(bundle.meta.get("contribution_centres", np.zeros(len(bundle.feature_names))), float)
        values = woe * sc.coef_ - centres
        base = float(sc.intercept_ + centres.sum())
    return Explanation(subjects=X.index, feature_names=list(bundle.feature_names), values=matrix,
                       contributions=values, base_value=base, margin=base + values.sum(axis=1))


def _explain_estimator(model: CreditGBM | ScorecardModel, X: pd.DataFrame, *,  # noqa: N803
                       threads: int) -> Explanation:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    if isinstance(model, CreditGBM):
        matrix = model._matrix(frame)
        contrib = model.contributions(matrix, threads=threads or (1 if len(matrix) < 1000 else 0))
        values, base = contrib[:, :-1], float(contrib[0, -1]) if len(contrib) else 0.0
        names = list(model.table_.names) if model.table_ is not None else [f"x{i}" for i in range(matrix.shape[1])]
    else:
        frame = model._frame(frame)
        values = model._woe(frame) * model.coef_ - model.contribution_centres_
        base = float(model.intercept_ + model.contribution_centres_.sum())
        names = [b["name"] for b in model.bins_]
    shown = frame.to_numpy(dtype=object) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)
    return Explanation(subjects=frame.index, feature_names=names, values=shown, contributions=values,
                       base_value=base, margin=base + values.sum(axis=1))


def named_reasons(explanation: Explanation, *, adverse: int = 3, favourable: int = 2,
                  min_contribution: float = 1e-6) -> pd.DataFrame:
    """Each row's strongest adverse and favourable columns, worded from the column names and values.

    Returns one row per reason: ``subject_id``, ``kind``, ``rank``, ``feature``, ``value``, ``contribution``
    (log-odds of default), ``text_zh``, ``text_en`` — e.g. ``debt_ratio = 2.1 raised the risk (+0.42)``.
    """
    c = explanation.contributions
    rows_out = []
    for kind, count, sign in (("adverse", adverse, 1.0), ("favourable", favourable, -1.0)):
        if count <= 0 or not len(c):
            continue
        signed = c * sign
        top = np.argsort(-signed, axis=1, kind="stable")[:, :count]
        strength = np.take_along_axis(signed, top, axis=1)
        rows, ranks = np.nonzero(strength > min_contribution)
        for r, k in zip(rows.tolist(), ranks.tolist(), strict=True):
            j = int(top[r, k])
            name, value, size = explanation.feature_names[j], explanation.values[r, j], float(c[r, j])
            shown = "missing" if pd.isna(value) else (f"{value:.4g}" if isinstance(value, float) else str(value))
            rows_out.append((explanation.subjects[r], kind, k + 1, name, value, size,
                             f"{name}为{'缺失' if shown == 'missing' else shown}，"
                             f"{'推高' if kind == 'adverse' else '降低'}违约风险（{size:+.2f}）",
                             f"{name} = {shown} {'raised' if kind == 'adverse' else 'lowered'} the risk "
                             f"({size:+.2f})"))
    out = pd.DataFrame(rows_out, columns=["subject_id", "kind", "rank", "feature", "value", "contribution",
                                          "text_zh", "text_en"])
    order = {"adverse": 0, "favourable": 1}
    return out.sort_values(["subject_id", "kind", "rank"], key=lambda s: s.map(order) if s.name == "kind" else s,
                           kind="stable").reset_index(drop=True)
