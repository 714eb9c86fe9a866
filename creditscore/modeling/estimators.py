"""The two model families, as scikit-learn estimators.

* :class:`CreditGBM` — LightGBM with monotone constraints (from the catalogue's
  directions of risk), early stopping on a validation set, and defaults chosen
  for credit data: shallow trees, strong minimum leaf sizes, no re-weighting of
  the rare defaults (re-weighting would only distort the probabilities that the
  calibrator must then undo).
* :class:`ScorecardModel` — the challenger: monotonic WOE binning (optbinning)
  and a logistic regression, scaled to points.

Both work on any tabular data (a DataFrame or an array, binary ``y``), so an
analyst can use them on their own data; both follow the scikit-learn contract
(``__init__`` stores parameters, ``fit`` returns ``self``, learned attributes end in ``_``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["CreditGBM", "ScorecardModel"]


def _as_frame(X: object, names: Sequence[str] | None = None) -> pd.DataFrame:  # noqa: N803 - sklearn's X
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X, dtype=float)
    cols = list(names) if names is not None else [f"x{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=cols)


def _check_binary(y: object) -> np.ndarray:
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind != "binary":
        raise ValueError(f"Only binary classification is supported (default / no default). "
                         f"The type of the target is {kind}.")
    classes = np.unique(np.asarray(y))
    if len(classes) < 2:
        raise ValueError("y has only one class: a PD model needs both defaults and non-defaults")
    return classes


class _PDModel(ClassifierMixin, BaseEstimator):
    """What both families share: probabilities and classes from ``decision_function`` (log-odds of default)."""

    def decision_function(self, X: object) -> np.ndarray:  # noqa: N803 - implemented by each family
        raise NotImplementedError

    def predict_proba(self, X: object) -> np.ndarray:  # noqa: N803
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: object) -> np.ndarray:  # noqa: N803
        margin = self.decision_function(X)
        return self.classes_[(margin > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing is not zero: LightGBM and the binning both handle NaN
        tags.classifier_tags.multi_class = False  # a PD model: default or not
        return tags


class CreditGBM(_PDModel):
    """Gradient-boosted trees for PD, monotone where the catalogue says risk only rises or falls.

    Parameters
    ----------
    monotone_constraints
        One of −1 / 0 / +1 per feature (or None): +1 means predicted risk may only
        rise with the feature.
    categorical_features
        Column names (or positions) that LightGBM should treat as categories.
    interaction_constraints
        LightGBM interaction constraints (lists of feature positions); ``[[0], [1], …]``
        makes every tree use a single feature — an additive model.
    early_stopping_rounds, validation_fraction
        Stop adding trees when the validation log-loss has not improved for this many
        rounds. The validation set is ``eval_set`` if given to ``fit``, else a
        stratified ``validation_fraction`` of the training data.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 600,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        max_depth: int = 5,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 5.0,
        monotone_constraints: Sequence[int] | None = None,
        categorical_features: Sequence[str | int] | None = None,
        interaction_constraints: Sequence[Sequence[int]] | None = None,
        early_stopping_rounds: int = 50,
        validation_fraction: float = 0.2,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.monotone_constraints = monotone_constraints
        self.categorical_features = categorical_features
        self.interaction_constraints = interaction_constraints
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _params(self, n_features: int) -> dict[str, object]:
        params: dict[str, object] = {
            "objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "max_depth": self.max_depth, "min_child_samples": self.min_child_samples,
            "bagging_fraction": self.subsample, "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree, "lambda_l2": self.reg_lambda,
            "num_threads": self.n_jobs, "seed": self.random_state, "deterministic": True, "verbosity": -1,
            "force_row_wise": True,
        }
        if self.monotone_constraints is not None:
            mono = list(self.monotone_constraints)
            if len(mono) != n_features:
                raise ValueError(f"monotone_constraints has {len(mono)} entries for {n_features} features")
            if any(m not in (-1, 0, 1) for m in mono):
                raise ValueError("monotone_constraints entries must be -1, 0 or 1")
            params["monotone_constraints"] = mono
            params["monotone_constraints_method"] = "advanced"
        if self.interaction_constraints is not None:
            params["interaction_constraints"] = [list(g) for g in self.interaction_constraints]
        return params

    def fit(self, X: object, y: object, *, eval_set: tuple[object, object] | None = None) -> CreditGBM:  # noqa: N803
        """Fit on ``X, y``; early-stop on ``eval_set`` (or an internal split of the training data)."""
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        Xa, ya = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)  # noqa: N806
        self.classes_ = _check_binary(ya)
        target = (ya == self.classes_[1]).astype(float)
        frame = _as_frame(Xa, names)
        self.feature_names_in_ = np.array(frame.columns, dtype=object) if names is not None else None
        if self.feature_names_in_ is None:
            del self.feature_names_in_
        cats = self._categorical(frame)
        if eval_set is not None:
            Xv, yv = eval_set  # noqa: N806
            valid = (_as_frame(np.asarray(Xv, dtype=float), frame.columns),
                     (np.asarray(yv) == self.classes_[1]).astype(float))
            train = (frame, target)
        else:
            rng = np.random.default_rng(self.random_state)
            mask = np.zeros(len(frame), dtype=bool)
            for cls in (0.0, 1.0):
                idx = np.flatnonzero(target == cls)
                mask[rng.choice(idx, max(1, round(len(idx) * self.validation_fraction)), replace=False)] = True
            train, valid = (frame[~mask], target[~mask]), (frame[mask], target[mask])
        dtrain = lgb.Dataset(train[0], train[1], categorical_feature=cats, free_raw_data=True)
        dvalid = lgb.Dataset(valid[0], valid[1], reference=dtrain, categorical_feature=cats)
        self.booster_ = lgb.train(
            self._params(frame.shape[1]), dtrain, num_boost_round=self.n_estimators, valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        self.best_iteration_ = self.booster_.best_iteration or self.booster_.current_iteration()
        return self

    def _categorical(self, frame: pd.DataFrame) -> list[str] | str:
        if not self.categorical_features:
            return "auto"
        out = []
        for c in self.categorical_features:
            out.append(frame.columns[c] if isinstance(c, int) else c)
        return out

    def _matrix(self, X: object) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, "booster_")
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)

    def decision_function(self, X: object) -> np.ndarray:  # noqa: N803
        """The margin (log-odds of default) before calibration."""
        matrix = self._matrix(X)
        return self.booster_.predict(matrix, raw_score=True, num_iteration=self.best_iteration_)


    def model_string(self) -> str:
        """LightGBM's own text format (no pickle), trimmed to the best iteration."""
        return self.booster_.model_to_string(num_iteration=self.best_iteration_)



class ScorecardModel(_PDModel):
    """The challenger: monotonic WOE binning + logistic regression, scaled to points.

    Parameters
    ----------
    monotone_constraints
        −1 / 0 / +1 per feature: +1 → default rate must rise across bins (optbinning's
        ``"ascending"`` event rate), −1 → ``"descending"``, 0 → ``"auto"``.
    pdo, base_odds, base_score
        Points scaling: ``base_score`` points at good:bad odds ``base_odds``, and ``pdo``
        points to double the odds.
    """

    def __init__(
        self,
        *,
        monotone_constraints: Sequence[int] | None = None,
        categorical_features: Sequence[str | int] | None = None,
        max_n_bins: int = 6,
        min_bin_size: float = 0.05,
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        pdo: float = 20.0,
        base_odds: float = 50.0,
        base_score: float = 600.0,
    ) -> None:
        self.monotone_constraints = monotone_constraints
        self.categorical_features = categorical_features
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.C = C
        self.pdo = pdo
        self.base_odds = base_odds
        self.base_score = base_score

    def fit(self, X: object, y: object, *, eval_set: tuple[object, object] | None = None) -> ScorecardModel:  # noqa: N803
        """Bin each feature (monotone as declared), then fit the logistic regression on WOE values."""
        from optbinning import OptimalBinning
        from sklearn.linear_model import LogisticRegression

        del eval_set  # a scorecard has no early stopping; accepted for a common interface
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        Xa, ya = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=None if names else float)  # noqa: N806
        self.classes_ = _check_binary(ya)
        target = (ya == self.classes_[1]).astype(int)
        frame = X if isinstance(X, pd.DataFrame) else _as_frame(Xa)
        mono = list(self.monotone_constraints) if self.monotone_constraints is not None else [0] * frame.shape[1]
        if len(mono) != frame.shape[1]:
            raise ValueError(f"monotone_constraints has {len(mono)} entries for {frame.shape[1]} features")
        cats = {frame.columns[c] if isinstance(c, int) else c for c in (self.categorical_features or [])}
        trend = {1: "ascending", -1: "descending", 0: "auto"}
        self.bins_: list[dict[str, object]] = []
        for col, m in zip(frame.columns, mono, strict=True):
            values = frame[col]
            categorical = col in cats or not pd.api.types.is_numeric_dtype(values)
            optb = OptimalBinning(name=str(col), dtype="categorical" if categorical else "numerical",
                                  monotonic_trend=None if categorical else trend[m], max_n_bins=self.max_n_bins,
                                  min_bin_size=self.min_bin_size, solver="cp")
            x = values.astype(str).to_numpy() if categorical else values.to_numpy(dtype=float)
            optb.fit(x, target)
            self.bins_.append(_bin_spec(optb, str(col), categorical))
        woe = self._woe(frame)
        self.logit_ = LogisticRegression(C=self.C, max_iter=1000)
        self.logit_.fit(woe, target)
        self.coef_ = self.logit_.coef_[0].copy()
        self.intercept_ = float(self.logit_.intercept_[0])
        return self

    def _woe(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([_apply_bins(spec, frame[spec["name"]] if spec["name"] in frame else frame.iloc[:, i])
                                for i, spec in enumerate(self.bins_)])

    def _frame(self, X: object) -> pd.DataFrame:  # noqa: N803
        check_is_fitted(self, "bins_")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=None)
            return X
        arr = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        return pd.DataFrame(arr, columns=[s["name"] for s in self.bins_])

    def decision_function(self, X: object) -> np.ndarray:  # noqa: N803
        """Log-odds of default: intercept + Σ coefficient × WOE."""
        woe = self._woe(self._frame(X))
        return self.intercept_ + woe @ self.coef_


    def points(self, X: object) -> pd.DataFrame:  # noqa: N803
        """Points per feature and in total: more points, less risk (the scorecard a credit officer reads)."""
        frame = self._frame(X)
        factor = self.pdo / np.log(2)
        n = len(self.bins_)
        offset = self.base_score - factor * np.log(self.base_odds)
        contrib = -(self._woe(frame) * self.coef_)  # log-odds of *good* contributed by each feature
        per_feature = factor * contrib + (offset + factor * -self.intercept_) / n
        out = pd.DataFrame(per_feature, columns=[s["name"] for s in self.bins_], index=frame.index)
        out["total"] = out.sum(axis=1)
        return out

    def to_json(self) -> str:
        check_is_fitted(self, "bins_")
        return json.dumps({"bins": self.bins_, "coef": self.coef_.tolist(), "intercept": self.intercept_,
                           "params": self.get_params()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ScorecardModel:
        data = json.loads(text)
        model = cls(**data["params"])
        model.bins_ = data["bins"]
        model.coef_ = np.array(data["coef"], dtype=float)
        model.intercept_ = float(data["intercept"])
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = len(model.bins_)
        model.feature_names_in_ = np.array([b["name"] for b in model.bins_], dtype=object)
        return model



def _bin_spec(optb: object, name: str, categorical: bool) -> dict[str, object]:
    """A fitted optbinning object as plain data: splits (or category groups) and the WOE of each bin."""
    table = optb.binning_table.build()
    woe = [float(w) for w in table["WoE"].iloc[:-1]]  # last row is the totals
    labels = list(table["Bin"].iloc[:-1])
    n_regular = len(labels) - 2  # optbinning appends the Special and Missing bins
    spec: dict[str, object] = {"name": name, "categorical": categorical, "woe": woe[:n_regular],
                               "woe_special": woe[n_regular], "woe_missing": woe[n_regular + 1]}
    if categorical:
        spec["groups"] = [[str(v) for v in group] for group in optb.splits]
    else:
        spec["splits"] = [float(s) for s in optb.splits]
    return spec


def _apply_bins(spec: dict[str, object], values: pd.Series) -> np.ndarray:
    woe = np.asarray(spec["woe"], dtype=float)
    if spec["categorical"]:
        lookup = {v: woe[i] for i, group in enumerate(spec["groups"]) for v in group}
        text = values.astype(str)
        out = text.map(lookup).to_numpy(dtype=float).copy()
        out[np.isnan(out)] = 0.0  # unseen category: neutral
        out[values.isna().to_numpy()] = spec["woe_missing"]
        return out
    x = values.to_numpy(dtype=float)
    idx = np.digitize(x, np.asarray(spec["splits"], dtype=float), right=False)
    out = woe[np.minimum(idx, len(woe) - 1)]
    return np.where(np.isnan(x), spec["woe_missing"], out)
