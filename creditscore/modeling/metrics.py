"""Discrimination, calibration and stability measures a model-validation team expects."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from creditscore.modeling.scales import MasterScale

__all__ = ["expected_calibration_error", "grade_table", "ks_statistic", "psi", "summary"]


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of defaulters and others."""
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def expected_calibration_error(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> float:
    """Σ (n_b / N)·|mean PD − default rate| over equal-count bins of predicted PD."""
    order = np.argsort(pd_, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            total += len(chunk) * abs(pd_[chunk].mean() - y[chunk].mean())
    return float(total / len(y))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``, on the expected population's deciles."""
    expected, actual = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(expected, edges)[0] / len(expected)
    a = np.histogram(actual, edges)[0] / len(actual)
    e, a = np.clip(e, 1e-6, None), np.clip(a, 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def grade_table(scale: MasterScale, y: np.ndarray, pd_: np.ndarray) -> pd.DataFrame:
    """Per grade, best first: count, defaults, observed default rate, mean predicted PD, PD band."""
    idx = scale.grade_index(pd_)
    rows = []
    for i, (name, lo, hi) in enumerate(scale.pd_bands()):
        m = idx == i
        n = int(m.sum())
        rows.append({"grade": name, "count": n, "defaults": int(y[m].sum()),
                     "default_rate": float(y[m].mean()) if n else float("nan"),
                     "mean_pd": float(pd_[m].mean()) if n else float("nan"), "pd_lower": lo, "pd_upper": hi})
    return pd.DataFrame(rows)


def summary(y: np.ndarray, pd_: np.ndarray) -> dict[str, float]:
    auc = float(roc_auc_score(y, pd_))
    return {"n": len(y), "defaults": int(np.sum(y)), "default_rate": float(np.mean(y)), "auc": auc,
            "gini": 2 * auc - 1, "ks": ks_statistic(y, pd_), "brier": float(np.mean((pd_ - y) ** 2)),
            "ece": expected_calibration_error(y, pd_), "mean_pd": float(np.mean(pd_))}
