"""The estimators: scikit-learn's contract, monotone constraints, plain data, scorecard points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from creditscore.modeling.estimators import CreditGBM, ScorecardModel


def _data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"risk_up": rng.normal(size=n), "risk_down": rng.normal(size=n),  # noqa: N806
                      "noise": rng.normal(size=n)})
    logit = -2.5 + 1.2 * X["risk_up"] - 0.9 * X["risk_down"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@parametrize_with_checks([CreditGBM(n_estimators=20, min_child_samples=5, early_stopping_rounds=5),
                          ScorecardModel(max_n_bins=3, min_bin_size=0.1)])
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)


def test_gbm_respects_monotone_constraints() -> None:
    X, y = _data()  # noqa: N806
    model = CreditGBM(monotone_constraints=[1, -1, 0]).fit(X, y)
    grid = np.linspace(-3, 3, 25)
    for row in X.sample(30, random_state=1).itertuples(index=False):
        up = pd.DataFrame({"risk_up": grid, "risk_down": row.risk_down, "noise": row.noise})
        down = pd.DataFrame({"risk_up": row.risk_up, "risk_down": grid, "noise": row.noise})
        assert np.all(np.diff(model.predict_proba(up)[:, 1]) >= -1e-12)
        assert np.all(np.diff(model.predict_proba(down)[:, 1]) <= 1e-12)


def test_gbm_works_on_a_plain_array_and_stops_early() -> None:
    X, y = _data()  # noqa: N806
    model = CreditGBM(n_estimators=2000).fit(X.to_numpy(), y)
    assert model.best_iteration_ < 2000
    assert model.predict_proba(X.to_numpy()).shape == (len(X), 2)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, model.predict_proba(X.to_numpy())[:, 1]) > 0.75


def test_gbm_rejects_a_non_binary_target() -> None:
    X, _ = _data(100)  # noqa: N806
    with pytest.raises(ValueError, match="binary"):
        CreditGBM().fit(X, np.arange(100) % 3)


def test_wrong_number_of_constraints_is_refused() -> None:
    X, y = _data(300)  # noqa: N806
    with pytest.raises(ValueError, match="3 features"):
        CreditGBM(monotone_constraints=[1, 0]).fit(X, y)


def test_scorecard_bins_are_monotone_and_json_round_trips() -> None:
    X, y = _data()  # noqa: N806
    model = ScorecardModel(monotone_constraints=[1, -1, 0]).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    again = ScorecardModel.from_json(model.to_json())
    np.testing.assert_allclose(again.predict_proba(X)[:, 1], p, rtol=0, atol=1e-12)
    # risk rises with risk_up across its bins: the log-odds contribution is increasing
    contrib = np.asarray(model.bins_[0]["woe"]) * model.coef_[0]
    assert np.all(np.diff(contrib) >= -1e-12)


def test_scorecard_points_add_up_to_the_scaled_log_odds() -> None:
    X, y = _data()  # noqa: N806
    model = ScorecardModel(pdo=20, base_odds=50, base_score=600).fit(X, y)
    points = model.points(X)
    factor = 20 / np.log(2)
    expected = 600 - factor * np.log(50) - factor * model.decision_function(X)
    np.testing.assert_allclose(points["total"], expected, rtol=1e-9)
    assert points["total"].corr(pd.Series(model.decision_function(X))) < -0.99  # more points, less risk
