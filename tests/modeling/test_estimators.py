"""The estimators: scikit-learn's contract, monotone constraints, plain data, scorecard points."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from creditscore.modeling.estimators import BlendModel, CreditForest, CreditGBM, ScorecardModel


def _data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"risk_up": rng.normal(size=n), "risk_down": rng.normal(size=n),  # noqa: N806
                      "noise": rng.normal(size=n)})
    logit = -2.5 + 1.2 * X["risk_up"] - 0.9 * X["risk_down"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


# These checks fit on labels such as [1, 2] or ["one", "two"] and expect the estimator to pick the positive
# class itself. Ours refuse by design: which label is a default must be said (bad_class), since a guess that takes
# "good" for the default ranks borrowers backwards. Each is asserted below to fail for exactly that reason.
NAMED_LABELS = dict.fromkeys(
    ("check_estimators_dtypes", "check_classifier_data_not_an_array", "check_classifiers_classes",
     "check_fit2d_1feature", "check_sample_weights_shape", "check_sample_weights_not_overwritten",
     "check_sample_weights_pandas_series", "check_sample_weights_not_an_array"),
    "labels other than 0/1 need bad_class (refused by design)")
# LightGBM's leaf sizes count rows, and the early-stopping hold-out (the forest's row samples) draws rows: a row
# weighing 2 is not two rows.
ROWS_NOT_WEIGHTS = {"check_sample_weight_equivalence_on_dense_data":
                    "leaf sizes and the row samples count rows, not weights (by design)"}


@parametrize_with_checks([CreditGBM(n_estimators=20, min_child_samples=5, early_stopping_rounds=5),
                          CreditForest(n_estimators=20),
                          ScorecardModel(max_n_bins=3, min_bin_size=0.1)],
                         expected_failed_checks=lambda estimator: NAMED_LABELS | (
                              ROWS_NOT_WEIGHTS if isinstance(estimator, CreditGBM) else {}))
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)


@pytest.mark.parametrize("model", [CreditGBM(n_estimators=20, min_child_samples=5), CreditForest(n_estimators=20),
                                   ScorecardModel(max_n_bins=3)])
def test_the_checks_expected_to_fail_fail_only_for_naming_the_bad_class(model) -> None:
    X, y = _data(400)  # noqa: N806
    with pytest.raises(ValueError, match="bad_class="):
        model.fit(X, y + 1)  # labels 1 / 2: which is the default?
    with pytest.raises(ValueError, match="bad_class="):
        model.fit(X, y + 1, sample_weight=pd.Series(np.ones(400)))  # the sample-weight checks: the same reason
    fitted = model.set_params(bad_class=2).fit(X, y + 1, sample_weight=pd.Series(np.ones(400)))
    fitted = model.set_params(bad_class=2).fit(X, y + 1, sample_weight=[1.0] * 400)
    assert list(fitted.classes_) == [1, 2]
    assert fitted.predict_proba(X).shape == (400, 2)
    assert np.allclose(fitted.predict_proba(X)[:, 1], fitted.predict_pd(X))


@pytest.mark.parametrize("family", [CreditGBM, CreditForest])
def test_gbm_respects_monotone_constraints(family: type) -> None:
    X, y = _data()  # noqa: N806
    model = family(monotone_constraints=[1, -1, 0]).fit(X, y)
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


def _table(n: int = 4000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """An analyst's own table: text, pandas category and boolean columns, names LightGBM refuses as they are."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], n)
    sector = pd.Categorical(rng.choice(["farming", "trade", "services"], n))
    owns_home = rng.random(n) < 0.5
    debt = rng.normal(size=n)
    logit = -2.0 + 1.1 * debt + np.select([region == "north", region == "south"], [1.2, -0.8], 0.0) \
        - 0.7 * owns_home + np.where(sector == "trade", 0.6, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"region": pd.Series(region, dtype="string"), "sector": sector,  # noqa: N806
                      "owns home?": owns_home, 'debt [ratio] {"x": 1}': debt})
    return X, y


def test_the_gbm_takes_text_category_and_boolean_columns_with_any_names() -> None:
    from sklearn.metrics import roc_auc_score

    X, y = _table()  # noqa: N806
    model = CreditGBM(n_estimators=200).fit(X, y, eval_set=(X.iloc[:800], y[:800]))
    p = model.predict_proba(X)[:, 1]
    assert roc_auc_score(y, p) > 0.75
    assert list(model.feature_names_in_) == list(X.columns)  # the table's own names, not LightGBM's copies
    assert model.table_.categories["region"] == ["east", "north", "south", "west"]
    # categories are the learned ones whatever the new table's own category order or dtype
    again = X.assign(sector=X["sector"].cat.reorder_categories(["trade", "services", "farming"]),
                     region=X["region"].astype(object))
    np.testing.assert_array_equal(model.predict_proba(again)[:, 1], p)
    # an unseen category is missing, as documented
    unseen = X.iloc[:5].assign(region="atlantis")
    missing = X.iloc[:5].assign(region=pd.Series([None] * 5, dtype="string", index=X.index[:5]))
    np.testing.assert_array_equal(model.predict_proba(unseen), model.predict_proba(missing))
    explained = model.booster_.predict(model._matrix(X.iloc[:50]), pred_contrib=True,
                                       num_iteration=model.best_iteration_)
    np.testing.assert_allclose(explained.sum(axis=1), model.decision_function(X.iloc[:50]), atol=1e-9)


def test_the_scorecard_takes_the_same_table() -> None:
    from sklearn.metrics import roc_auc_score

    X, y = _table()  # noqa: N806
    X.loc[X.index[:200], "region"] = None  # missing text: its own bin, not the text "nan"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pandas warnings from the binning (there were 13 a fit)
        model = ScorecardModel().fit(X, y)
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.75
    region = next(b for b in model.bins_ if b["name"] == "region")
    assert all("nan" not in group for group in region["groups"])


@pytest.mark.parametrize("model", [CreditGBM(n_estimators=50), CreditForest(n_estimators=50), ScorecardModel()])
def test_text_labels_need_the_bad_class_named(model) -> None:
    from sklearn.metrics import roc_auc_score

    X, y = _table(2000)  # noqa: N806
    words = np.where(y == 1, "bad", "good")
    with pytest.raises(ValueError, match="bad_class="):
        model.fit(X, words)
    fitted = model.set_params(bad_class="bad").fit(X, words)
    assert list(fitted.classes_) == ["bad", "good"]  # sorted, as scikit-learn's scorers assume
    assert fitted.bad_class_ == "bad"
    assert roc_auc_score(words == "bad", fitted.predict_pd(X)) > 0.75  # the PD, whatever the labels
    assert np.array_equal(fitted.predict_proba(X)[:, 0], fitted.predict_pd(X))  # the column of "bad"
    assert np.allclose(fitted.decision_function(X), -fitted.margin(X))  # scores classes_[1], "good"
    assert roc_auc_score(words == "good", fitted.decision_function(X)) > 0.75
    assert set(fitted.predict(X)) == {"good", "bad"}
    assert (fitted.predict(X) == np.where(fitted.predict_pd(X) > 0.5, "bad", "good")).all()
    with pytest.raises(ValueError, match="not one of y's classes"):
        model.set_params(bad_class="default").fit(X, words)


@pytest.mark.parametrize("model", [CreditGBM(n_estimators=30), CreditForest(n_estimators=30), ScorecardModel()])
def test_other_columns_at_predict_are_refused(model) -> None:
    X, y = _table(1500)  # noqa: N806
    model.fit(X, y)
    with pytest.raises(ValueError, match="another order"):
        model.predict_proba(X[list(reversed(X.columns))])
    with pytest.raises(ValueError, match="missing"):
        model.predict_proba(X.drop(columns="region"))


def test_a_monotone_constraint_on_a_categorical_column_is_an_error_not_an_abort() -> None:
    X, y = _table(1500)  # noqa: N806
    with pytest.raises(ValueError, match=r"categorical column.*\['region'\]"):
        CreditGBM(monotone_constraints=[1, 0, 0, 1]).fit(X, y)
    with pytest.raises(ValueError, match=r"categorical column.*\['region'\]"):  # the forest: the same check
        CreditForest(monotone_constraints=[1, 0, 0, 1]).fit(X, y)
    codes = X.assign(region=X["region"].astype("category").cat.codes, sector=X["sector"].cat.codes)
    with pytest.raises(ValueError, match=r"\['sector'\]"):  # integer codes named categorical: the same
        CreditGBM(monotone_constraints=[0, -1, 0, 1], categorical_features=["region", "sector"]).fit(codes, y)
    assert CreditGBM(monotone_constraints=[0, 0, -1, 1], n_estimators=20).fit(X, y).booster_ is not None


@pytest.mark.parametrize(("rows", "bads"), [(1_000, 300), (5_000, 150), (50_000, 2_500), (1_000_000, 20_000)])
def test_sizes_follow_the_data(rows: int, bads: int) -> None:
    from creditscore.modeling.estimators import adapted_params

    p = adapted_params(rows, bads)
    assert 20 <= p["min_child_samples"] <= max(20, rows // 100)
    assert p["min_child_samples"] * (bads / rows) >= min(20, rows // 100 * bads / rows)  # ≈ 20 bads a leaf
    assert 4 <= p["num_leaves"] <= 31
    if bads < 500:  # too few defaults to spare a fifth: the rounds by cross-validation, then every row
        assert p["validation_fraction"] == "cv"
    else:
        assert 0.1 <= p["validation_fraction"] <= 0.2
        assert round(bads * p["validation_fraction"]) >= 200  # the hold-out keeps bads to stop on


def test_small_data_gets_real_trees() -> None:
    """A thousand rows: the fixed credit defaults (100 a leaf) left ~5-leaf trees; the adapted sizes do not."""
    X, y = _data(1000, seed=4)  # noqa: N806
    model = CreditGBM().fit(X, y)
    assert model.fitted_sizes_["min_child_samples"] < 100
    assert model.fitted_sizes_["validation_fraction"] == "cv"
    assert model.booster_.num_trees() == model.best_iteration_ < 600  # rounds chosen, then one model on all rows
    leaves = [t["num_leaves"] for t in model.booster_.dump_model()["tree_info"]]
    assert max(leaves) > 5


@pytest.mark.parametrize("model", [CreditGBM(n_estimators=100), CreditForest(n_estimators=100), ScorecardModel()])
def test_explain_works_on_a_fitted_estimator_and_a_plain_table(model) -> None:
    """No bundle, no catalogue: contributions that add up to the model's log-odds, and reasons from names."""
    from creditscore.modeling.contributions import explain, named_reasons

    X, y = _table(3000)  # noqa: N806
    model.fit(X, y)
    rows = X.iloc[:200]
    explanation = explain(model, rows)
    np.testing.assert_allclose(explanation.margin, model.decision_function(rows), atol=1e-9)
    assert explanation.feature_names == list(X.columns)
    why = named_reasons(explanation)
    first = why[why["subject_id"] == rows.index[0]]
    assert list(first["kind"]).count("adverse") <= 3
    assert (why.loc[why["kind"] == "adverse", "contribution"] > 0).all()
    assert (why.loc[why["kind"] == "favourable", "contribution"] < 0).all()
    region_rows = why[why["feature"] == "region"]
    assert len(region_rows)
    assert region_rows["text_en"].str.match(r"region = (north|south|east|west) (raised|lowered) the risk").all()
    assert why["text_zh"].str.contains("违约风险").all()


def test_german_credit_as_it_ships() -> None:
    """A public dataset as it ships — text columns, 'good'/'bad' labels — straight into both families (the
    README's analyst example). 5-fold AUC measured 0.795 (general model) and 0.794 (scorecard); published: logistic
    regression 0.784, best ensemble 0.801 (Lessmann et al. 2015)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    loans = pd.read_csv(Path(__file__).parents[1] / "data" / "german_credit.csv.gz")
    y = loans.pop("creditability").to_numpy()
    aucs: dict[str, list[float]] = {"gbm": [], "scorecard": []}
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(loans, y):
        for name, model in (("gbm", CreditGBM(bad_class="bad")), ("scorecard", ScorecardModel(bad_class="bad"))):
            model.fit(loans.iloc[train], y[train])
            aucs[name].append(roc_auc_score(y[test] == "bad", model.predict_pd(loans.iloc[test])))
    assert np.mean(aucs["gbm"]) > 0.785
    assert np.mean(aucs["scorecard"]) > 0.785


def test_the_blend_adds_two_explainable_models_and_stays_exactly_explainable() -> None:
    from sklearn.metrics import roc_auc_score

    from creditscore.modeling.contributions import explain
    from creditscore.modeling.estimators import BlendModel

    X, y = _table(3000)  # noqa: N806
    test_X, test_y = _table(2000, seed=9)  # noqa: N806
    blend = BlendModel().fit(X, y)  # weights from 5-fold out-of-fold margins
    assert (blend.weights_ > 0).all()  # both parts carry information
    auc = roc_auc_score(test_y, blend.predict_proba(test_X)[:, 1])
    parts = [roc_auc_score(test_y, m.decision_function(test_X)) for m in (blend.scorecard_, blend.additive_)]
    assert auc > min(parts)
    assert auc > max(parts) - 0.01
    e = explain(blend, test_X.iloc[:100])
    np.testing.assert_allclose(e.margin, blend.decision_function(test_X.iloc[:100]), atol=1e-9)
    held = BlendModel(bad_class="bad").fit(X, np.where(y == 1, "bad", "good"),
                                           eval_set=(test_X, np.where(test_y == 1, "bad", "good")))
    assert list(held.classes_) == ["bad", "good"]
    assert roc_auc_score(test_y, held.predict_pd(test_X)) > 0.75
    assert held.weights_.tolist() == pytest.approx(blend.weights_.tolist(), abs=0.5)  # the same sign: log-odds of bad


def test_the_gbm_says_when_early_stopping_never_stopped() -> None:
    """All the rounds used and the validation loss still falling: the analyst is told to allow more (a 50,000-row
    loan set used all 600 trees in every fold, silently)."""
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=4000), "b": rng.normal(size=4000)})  # noqa: N806
    y = (rng.random(4000) < 1 / (1 + np.exp(-(X["a"] * 2 - 1)))).astype(int)
    for validation in (0.2, "cv"):  # the hold-out and the cross-validated rounds
        with pytest.warns(ConvergenceWarning, match="all 5 rounds were used"):
            CreditGBM(n_estimators=5, validation_fraction=validation).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = CreditGBM().fit(X, y)  # stops by itself
    assert model.best_iteration_ < 600


@pytest.mark.parametrize("family", [CreditGBM, CreditForest, ScorecardModel, BlendModel])
def test_an_empty_column_is_neutral_and_a_date_column_is_refused(family: type) -> None:
    """Tables as analysts bring them: a column with no value in this sample (a feed that had not started) fits,
    and adds nothing; a date column is refused with what to do (as categories, every date was a level of its
    own)."""
    from creditscore.modeling.contributions import explain

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=800), "k": rng.choice(["a", "b", "c"], 800)})  # noqa: N806
    y = (rng.random(800) < 1 / (1 + np.exp(-(X["x"] * 1.5 - 1)))).astype(int)
    model = family().fit(X.assign(empty=np.nan), y)
    again = family().fit(X, y)
    contributions = explain(model, X.assign(empty=np.nan).head(50))
    assert np.allclose(contributions.contributions[:, list(contributions.feature_names).index("empty")], 0.0)
    if family in (ScorecardModel, BlendModel):  # the binned families give the column nothing at all: the same model
        assert np.allclose(model.decision_function(X.assign(empty=np.nan)), again.decision_function(X), atol=1e-6)
    if family is ScorecardModel:  # and it is saved and read like any other
        table = X.assign(empty=np.nan)
        assert np.array_equal(ScorecardModel.from_json(model.to_json()).decision_function(table),
                              model.decision_function(table))
        assert model.points(table)["empty"].nunique() == 1  # its share of the base points, the same for all
    for when in (pd.date_range("2020-01-01", periods=800), pd.to_timedelta(rng.integers(0, 99, 800), unit="D")):
        with pytest.raises(ValueError, match=r"\['when'\] hold dates or durations: give the model a number"):
            family().fit(X.assign(when=when), y)


@pytest.mark.parametrize("family", [CreditGBM, CreditForest, ScorecardModel, BlendModel])
def test_scikit_learns_scorers_and_searches_measure_the_right_class(family: type) -> None:
    """German Credit as it ships ("good"/"bad"): cross_val_score's roc_auc and GridSearchCV see the model's real
    discrimination — with classes_ as [other, bad] the scorer took "good" as positive and reported 0.21."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

    loans = pd.read_csv(Path(__file__).parents[1] / "data" / "german_credit.csv.gz")
    X, y = loans.drop(columns="creditability"), loans["creditability"]  # noqa: N806
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(family(bad_class="bad"), X, y, cv=folds, scoring="roc_auc")
        assert scores.mean() > 0.75, scores
        loss = cross_val_score(family(bad_class="bad"), X, y, cv=folds, scoring="neg_log_loss")
        assert loss.mean() > -0.56, loss  # better than the base rate's 0.611 (the columns in classes_ order)
        if family is CreditGBM:
            search = GridSearchCV(family(bad_class="bad"), {"num_leaves": ["auto", 4]}, cv=folds,
                                  scoring="roc_auc").fit(X, y)
            assert search.best_score_ > 0.75


@pytest.mark.parametrize("family", [CreditGBM, CreditForest, ScorecardModel, BlendModel])
def test_sample_weights_weigh_rows(family: type) -> None:
    """Defaults weighed three times (an analyst's correction for a sample that under-counts them) raise the PD
    about threefold in odds; rows of weight 0 that leave one class are refused with a reason."""
    X, y = _table(3000)  # noqa: N806
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = family().fit(X, y)
        heavier = family().fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    odds = np.exp(heavier.margin(X).mean() - plain.margin(X).mean())
    assert 2.0 < odds < 4.5, odds
    with pytest.raises(ValueError, match="only one class"):
        family().fit(X, y, sample_weight=(y == 0).astype(float))
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        family().fit(X, y, sample_weight=-np.ones(len(y)))



def test_weighted_scorecard_contributions_are_relative_to_the_weighted_average_row() -> None:
    X, y = _table(3000)  # noqa: N806
    weight = np.where(y == 1, 3.0, 1.0)
    """A reason says "above / below the average borrower": with weights, the average the model was fitted to."""
    from creditscore.modeling.contributions import explain

    model = ScorecardModel().fit(X, y, sample_weight=weight)
    contributions = explain(model, X).contributions
    assert np.allclose(np.average(contributions, axis=0, weights=weight), 0.0, atol=1e-9)


def test_the_forest_margin_is_the_log_odds_its_probabilities_use() -> None:
    """LightGBM reports a random forest's raw score and contributions as the trees' sum (its issue #6217) while
    its probabilities average them: the forest's margin, its PD and its contributions agree with each other."""
    from sklearn.metrics import roc_auc_score

    from creditscore.modeling.contributions import explain

    X, y = _table(3000)  # noqa: N806
    test_X, test_y = _table(2000, seed=9)  # noqa: N806
    forest = CreditForest(n_estimators=200).fit(X, y)
    assert forest.raw_scale_ == pytest.approx(1 / 200)
    from creditscore.modeling.estimators import measured_raw_scale

    boosted = CreditGBM(n_estimators=50).fit(X, y)
    assert measured_raw_scale(boosted.booster_, boosted._matrix(test_X)) == 1.0  # a boosted model's is the log-odds
    booster_pd = forest.booster_.predict(forest._matrix(test_X))
    np.testing.assert_allclose(forest.predict_pd(test_X), booster_pd, rtol=1e-9)
    e = explain(forest, test_X)
    np.testing.assert_allclose(e.margin, forest.margin(test_X), atol=1e-9)
    assert np.abs(e.contributions).max() < 5  # log-odds, not a sum over 200 trees
    assert roc_auc_score(test_y, forest.predict_pd(test_X)) > 0.75
    progress: list[tuple[int, int]] = []
    CreditForest(n_estimators=50).fit(X, y, progress=lambda n, best: progress.append((n, best)))
    assert progress == [(25, 25), (50, 50)]


@pytest.mark.parametrize(("params", "message"), [({"subsample": 1.0, "colsample_bytree": 1.0}, "differ"),
                                                 ({"subsample": 0.0}, r"\(0, 1\]"),
                                                 ({"n_estimators": 0}, "at least 1")])
def test_a_forest_that_cannot_be_grown_is_refused(params: dict, message: str) -> None:
    X, y = _data(300)  # noqa: N806
    with pytest.raises(ValueError, match=message):
        CreditForest(**params).fit(X, y)


def test_a_blend_of_any_parts_stays_exactly_explainable() -> None:
    from creditscore.modeling.contributions import explain

    X, y = _table(2000)  # noqa: N806
    blend = BlendModel(parts=("scorecard", "forest", "gbm")).fit(X, y)
    assert len(blend.weights_) == 3
    assert isinstance(blend.parts_[1], CreditForest)
    e = explain(blend, X.iloc[:100])
    np.testing.assert_allclose(e.margin, blend.margin(X.iloc[:100]), atol=1e-9)
    assert blend.scorecard_ is blend.parts_[0]
    with pytest.raises(AttributeError, match="no additive part"):
        _ = blend.additive_
    for parts in (("scorecard",), ("scorecard", "scorecard"), ("scorecard", "svm")):
        with pytest.raises(ValueError, match="two or more different families"):
            BlendModel(parts=parts).fit(X, y)
