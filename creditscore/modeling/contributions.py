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

The readable reasons made from them are :mod:`creditscore.decisions.reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditscore.modeling.bundle import ModelBundle

__all__ = ["Explanation", "explain"]


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


def explain(bundle: ModelBundle, X: pd.DataFrame, *, threads: int = 0) -> Explanation:  # noqa: N803
    """Contributions for every row of ``X`` (indicators in the bundle's feature order)."""
    matrix = bundle.matrix(X)
    threads = threads or (1 if len(matrix) < 1000 else 0)  # a few rows: one thread, no OpenMP fan-out
    additive = bundle.additive_explainer
    if additive is not None:
        values = additive.contributions(bundle.booster, matrix, threads=threads)
        base = additive.base_value
    elif bundle.booster is not None:
        contrib = bundle.booster.predict(matrix, pred_contrib=True, num_threads=threads)
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
