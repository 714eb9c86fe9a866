"""The additive family: each tree on one indicator; exact contributions from the leaves, equal to TreeSHAP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.modeling.additive import AdditiveExplainer, NotAdditive, is_additive
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.modeling.contributions import explain
from creditscore.modeling.train import TrainResult, train_segment
from creditscore.synth import SynthConfig, generate


@pytest.fixture(scope="module")
def trained() -> TrainResult:
    population = generate(SynthConfig(seed=17, n_firms=300, n_households=6000))
    return train_segment(population.tables, "household", population.observation_dates(),
                         families=["gbm", "additive"], truth=population.true_pd)


def test_every_additive_tree_uses_one_indicator(trained: TrainResult) -> None:
    booster = trained.families["additive"].bundle.booster
    assert is_additive(booster)
    explainer = AdditiveExplainer.from_booster(booster)
    assert (explainer.assignment.sum(axis=1) <= 1).all()
    assert not is_additive(trained.families["gbm"].bundle.booster)
    with pytest.raises(NotAdditive, match="splits on"):
        AdditiveExplainer.from_booster(trained.families["gbm"].bundle.booster)


def test_leaf_contributions_equal_treeshap(trained: TrainResult) -> None:
    result = trained.families["additive"]
    booster = result.bundle.booster
    matrix = result.test_features[result.bundle.feature_names].to_numpy(dtype=float)
    explainer = AdditiveExplainer.from_booster(booster)
    fast = explainer.contributions(booster, matrix)
    shap = booster.predict(matrix, pred_contrib=True)
    np.testing.assert_allclose(fast, shap[:, :-1], atol=1e-9, rtol=0)
    assert explainer.base_value == pytest.approx(shap[0, -1], abs=1e-9)
    np.testing.assert_allclose(explainer.base_value + fast.sum(axis=1), booster.predict(matrix, raw_score=True),
                               atol=1e-9, rtol=0)


def test_the_scoring_path_picks_the_fast_explainer(trained: TrainResult) -> None:
    bundle = trained.families["additive"].bundle
    assert bundle.meta["explainer"] == "additive"
    assert bundle.additive_explainer is not None
    X = trained.families["additive"].test_features.iloc[:200]  # noqa: N806
    e = explain(bundle, X)
    np.testing.assert_allclose(e.margin, bundle.margin(X), atol=1e-9, rtol=0)
    general = trained.families["gbm"].bundle
    assert general.additive_explainer is None


def test_additive_bundle_round_trips_and_keeps_its_explainer(trained: TrainResult, tmp_path) -> None:
    bundle = trained.families["additive"].bundle
    bundle.save(tmp_path / "additive")
    loaded = ModelBundle.load(tmp_path / "additive")
    assert loaded.additive_explainer is not None
    X = trained.families["additive"].test_features.iloc[:50]  # noqa: N806
    pd.testing.assert_frame_equal(loaded.predict(X), bundle.predict(X))


def test_additive_accuracy_is_close_to_the_general_model(trained: TrainResult) -> None:
    gap = trained.families["gbm"].test["auc"] - trained.families["additive"].test["auc"]
    assert gap < 0.02


def test_demo_bundles_declare_their_explainer() -> None:
    for segment in ("sme", "household"):
        meta = ModelBundle.load(DEMO_BUNDLES / segment).meta
        assert meta["explainer"] in {"treeshap", "additive", "points"}
