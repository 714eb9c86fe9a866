"""Calibration: the model's margin → a 12-month PD that matches observed default rates.

Fitted on data the model did not train on (the validation date). ``method="auto"``
compares Platt scaling (a logistic regression on the margin) and isotonic
regression by cross-validated log-loss on that data and keeps the better one.
The fitted calibrator is plain numbers (JSON), not a pickle.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

__all__ = ["Calibrator"]

_EPS = 1e-6


class Calibrator:
    """Margin → PD. Monotone non-decreasing in the margin, so it never reorders subjects."""

    def __init__(self, method: Literal["auto", "platt", "isotonic"] = "auto", *, random_state: int = 0) -> None:
        self.method = method
        self.random_state = random_state

    @staticmethod
    def _platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
        return float(lr.coef_[0, 0]), float(lr.intercept_[0])

    @staticmethod
    def _isotonic(margin: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip", increasing=True).fit(margin, y)
        return iso.X_thresholds_.astype(float), iso.y_thresholds_.astype(float)

    def fit(self, margin: np.ndarray, y: np.ndarray, *, central_tendency: float | None = None) -> Calibrator:
        """Fit margin → PD on ``(margin, y)``.

        With ``central_tendency`` (the long-run average default rate, e.g. over all
        the training dates), the fitted curve is then shifted in log-odds so that its
        mean PD on this data equals it: a PD calibrated *through the cycle*, rather
        than to the one year the calibration data happens to come from.
        """
        margin, y = np.asarray(margin, dtype=float), np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise ValueError("calibration needs both defaults and non-defaults")
        method = self.method
        if method == "auto":
            self.cv_log_loss_ = self._compare(margin, y)
            method = min(self.cv_log_loss_, key=self.cv_log_loss_.get)
        self.method_ = method
        if method == "platt":
            self.a_, self.b_ = self._platt(margin, y)
        else:
            self.x_, self.y_ = self._isotonic(margin, y)
        self.shift_ = 0.0
        if central_tendency is not None:
            if not 0 < central_tendency < 1:
                raise ValueError(f"central tendency must be a rate in (0, 1), got {central_tendency}")
            from scipy.optimize import brentq

            base = _logit(self._raw(margin))
            self.shift_ = float(brentq(lambda d: _sigmoid(base + d).mean() - central_tendency, -5, 5))
        return self

    def _compare(self, margin: np.ndarray, y: np.ndarray) -> dict[str, float]:
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=self.random_state)
        losses = {"platt": [], "isotonic": []}
        for train, test in folds.split(margin.reshape(-1, 1), y):
            a, b = self._platt(margin[train], y[train])
            losses["platt"].append(log_loss(y[test], _sigmoid(a * margin[test] + b), labels=[0, 1]))
            xs, ys = self._isotonic(margin[train], y[train])
            losses["isotonic"].append(log_loss(y[test], np.interp(margin[test], xs, ys), labels=[0, 1]))
        return {k: float(np.mean(v)) for k, v in losses.items()}

    def _raw(self, margin: np.ndarray) -> np.ndarray:
        m = np.asarray(margin, dtype=float)
        if self.method_ == "platt":
            return _sigmoid(self.a_ * m + self.b_)
        return np.interp(m, self.x_, self.y_)

    def predict(self, margin: np.ndarray) -> np.ndarray:
        raw = self._raw(margin)
        return raw if not self.shift_ else _sigmoid(_logit(raw) + self.shift_)

    def to_dict(self) -> dict[str, object]:
        common = {"shift": self.shift_, "cv_log_loss": getattr(self, "cv_log_loss_", None)}
        if self.method_ == "platt":
            return {"method": "platt", "a": self.a_, "b": self.b_, **common}
        return {"method": "isotonic", "x": self.x_.tolist(), "y": self.y_.tolist(), **common}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        cal = cls(method=data["method"])  # type: ignore[arg-type]
        cal.method_ = data["method"]
        cal.shift_ = float(data.get("shift", 0.0))
        if cal.method_ == "platt":
            cal.a_, cal.b_ = float(data["a"]), float(data["b"])
        else:
            cal.x_, cal.y_ = np.asarray(data["x"], dtype=float), np.asarray(data["y"], dtype=float)
        return cal


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))
