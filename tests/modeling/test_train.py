"""Out-of-time training, the champion rule, bundles that round-trip and refuse the wrong catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.errors import ModelMismatch
from creditscore.features import load_catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.modeling.report import write_report
from creditscore.modeling.train import TrainResult, choose_champion, observation_dates, train_segment
from creditscore.synth import Population, SynthConfig, generate


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(SynthConfig(seed=7, n_firms=8_000, n_households=8_000))


STEPS: list[str] = []  # what training said while it ran


@pytest.fixture(scope="module")
def sme(population: Population) -> TrainResult:
    return train_segment(population.tables, "sme", population.observation_dates(), truth=population.true_pd,
                         progress=STEPS.append)


def test_training_says_what_it_is_doing(sme: TrainResult) -> None:
    assert STEPS[0].startswith("building indicators and outcomes on 5 observation dates")
    for family in sme.families:
        mine = [s for s in STEPS if s.startswith(f"{family} (")]
        assert mine[0].endswith("rows")
        assert mine[-1].endswith("calibrating and testing")
    assert any(": round 25 (best so far " in s for s in STEPS)  # the boosting families report their rounds


def test_split_is_out_of_time(sme: TrainResult, population: Population) -> None:
    dates = [d.date().isoformat() for d in population.observation_dates()]
    assert sme.dates["train"] == dates[:-2]
    assert sme.dates["validation"] == [dates[-2]]
    assert sme.dates["test"] == [dates[-1]]


def test_both_families_discriminate_close_to_the_oracle(sme: TrainResult) -> None:
    for family, r in sme.families.items():
        assert r.test["auc"] > 0.92 * sme.oracle["auc"], family  # 0.97 at the benchmark's 100,000 firms
        assert r.test["ece"] < 0.02, family


def test_grades_rank_the_observed_default_rate(sme: TrainResult) -> None:
    """Each grade's observed rate is no lower than the better grade's, up to sampling noise (an inversion of
    two standard errors of the difference fails: at ~500 firms a grade and 3 % defaults, one standard error is
    about one point), and the worst grade's rate is many times the best's."""
    table = sme.families[sme.champion].grades
    populated = table[table["count"] >= 100].reset_index(drop=True)
    rate, n = populated["default_rate"].to_numpy(), populated["count"].to_numpy()
    for i in range(len(populated) - 1):
        pooled = (rate[i] * n[i] + rate[i + 1] * n[i + 1]) / (n[i] + n[i + 1])
        se = np.sqrt(pooled * (1 - pooled) * (1 / n[i] + 1 / n[i + 1]))
        assert rate[i] - rate[i + 1] < 2 * se, populated.to_string()
    assert len(populated) >= 5, populated.to_string()
    assert rate[-1] > 10 * max(rate[0], 0.002), populated.to_string()


def test_champion_rule_is_applied_as_stated() -> None:
    assert choose_champion({"gbm": 0.86, "scorecard": 0.84})[0] == "gbm"
    family, rule = choose_champion({"gbm": 0.843, "scorecard": 0.84})
    assert family == "scorecard"
    assert "within 0.005" in rule
    assert choose_champion({"gbm": 0.83, "scorecard": 0.84})[0] == "scorecard"
    assert choose_champion({"gbm": 0.85, "additive": 0.86})[0] == "additive"
    assert choose_champion({"gbm": 0.862, "additive": 0.86, "scorecard": 0.85})[0] == "additive"
    assert choose_champion({"gbm": 0.862, "additive": 0.86, "scorecard": 0.858})[0] == "scorecard"
    assert choose_champion({"gbm": 0.87, "additive": 0.86, "scorecard": 0.85})[0] == "gbm"


def test_bundle_saved_and_loaded_gives_identical_predictions(sme: TrainResult, population: Population,
                                                              tmp_path: Path) -> None:
    catalogue = load_catalogue("sme")
    from creditscore.features import compute_features
    from creditscore.policy import load_policy

    X = compute_features(catalogue, population.tables, "2024-06-30", load_policy())  # noqa: N806
    for family, r in sme.families.items():
        r.bundle.save(tmp_path / family)
        loaded = ModelBundle.load(tmp_path / family, catalogue=catalogue)
        pd.testing.assert_frame_equal(loaded.predict(X), r.bundle.predict(X))
        assert loaded.meta["metrics"]["test"]["auc"] == pytest.approx(r.test["auc"])
        assert (tmp_path / family / ("model.txt" if family == "gbm" else "scorecard.json")).is_file()


def test_bundle_from_another_catalogue_is_refused_with_a_clear_message(sme: TrainResult, tmp_path: Path) -> None:
    sme.families["gbm"].bundle.save(tmp_path / "b")
    other = load_catalogue("sme").model_copy(update={"hash": "0" * 64, "version": "2099.1"})
    with pytest.raises(ModelMismatch, match=r"trained on sme catalogue version .* but the running catalogue is "
                                            r"version 2099\.1"):
        ModelBundle.load(tmp_path / "b", catalogue=other)


def test_bundle_refuses_a_matrix_of_the_wrong_width(sme: TrainResult) -> None:
    with pytest.raises(ModelMismatch, match="expects 38 indicators"):
        sme.champion_bundle.predict(np.zeros((2, 5)))


def test_report_is_written_with_plots(sme: TrainResult, tmp_path: Path) -> None:
    json_path, html_path = write_report(sme, tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5
    assert "Oracle" in page
    assert '"champion"' in json_path.read_text(encoding="utf-8")
    fairness = json.loads(json_path.read_text(encoding="utf-8"))["fairness"]
    counties = [r for r in fairness["table"] if r["dimension"] == "county"]
    assert sum(r["subjects"] for r in counties) == len(sme.test_frame)  # every firm in one county group
    assert "Fairness 公平性" in page


def test_observation_dates_leave_a_year_before_and_after(population: Population) -> None:
    dates = observation_dates(population.tables)
    assert dates[0] == pd.Timestamp("2020-06-30")
    assert dates[-1] == pd.Timestamp("2024-06-30")


def test_household_training_uses_the_household_scale(population: Population) -> None:
    result = train_segment(population.tables, "household", population.observation_dates(), families=["scorecard"])
    assert set(result.families["scorecard"].grades["grade"]) == {"AAA", "AA", "A", "非信用户"}


@pytest.mark.parametrize("segment", ["sme", "household"])
def test_shipped_demo_bundles_match_the_catalogue(segment: str) -> None:
    """If this fails, the catalogue changed: retrain with `creditscore train --source synthetic --export`."""
    from creditscore.modeling.bundle import DEMO_BUNDLES

    catalogue = load_catalogue(segment)
    bundle = ModelBundle.load(DEMO_BUNDLES / segment, catalogue=catalogue)
    frame = pd.DataFrame([[0.0] * len(catalogue.ids)], columns=catalogue.ids)
    assert bundle.predict(frame)["grade"].iloc[0] in bundle.scale.names
    assert (DEMO_BUNDLES / segment / "model.txt").stat().st_size < 1_000_000


def test_the_blend_is_a_family_of_the_champion_rule(population: Population, tmp_path: Path) -> None:
    """Built from the scorecard and additive families already fitted, weighted on the validation date; its
    bundle saves, loads, predicts the same and explains exactly (contributions add up to its margin)."""
    from creditscore.modeling.bundle import ModelBundle
    from creditscore.modeling.contributions import explain

    result = train_segment(population.tables, "household", population.observation_dates(),
                           families=["blend", "scorecard", "additive"])
    assert set(result.families) == {"blend", "scorecard", "additive"}
    blend = result.families["blend"]
    weights = blend.bundle.blend["weights"]
    assert all(w > 0 for w in weights)
    assert blend.validation["auc"] >= min(result.families[f].validation["auc"] for f in ("scorecard", "additive"))
    assert result.champion in result.families  # entered in the rule like the others
    again = ModelBundle.load(blend.bundle.save(tmp_path / "blend"), catalogue=result.catalogue)
    X = blend.test_features.iloc[:300]  # noqa: N806
    pd.testing.assert_frame_equal(again.predict(X), blend.bundle.predict(X))
    e = explain(again, X)
    np.testing.assert_allclose(e.margin, again.margin(X), atol=1e-9)


def test_the_stores_dates_begin_with_the_loan_book_not_with_the_records(population: Population) -> None:
    """The platform's records go back to 2016; the banks' book begins in 2020: dates before it have no one to
    learn from. The dates found from the records alone are the generator's own."""
    assert population.tables["tax_grades"]["year"].min() == population.config.start_year == 2016
    found = observation_dates(population.tables)
    assert found == population.observation_dates()
    assert found[0] == pd.Timestamp(2020, 6, 30)
    without_book = {k: v for k, v in population.tables.items() if k not in ("loans", "delinquencies")}
    assert observation_dates(without_book)[0] == pd.Timestamp(2017, 6, 30)  # a year of records is all it needs


def test_the_forest_is_a_family_whose_bundle_keeps_its_scale(population: Population, tmp_path: Path) -> None:
    """A forest's booster sums its trees: the bundle records the scale, so the saved model grades and explains as
    the fitted one did, and a blend a bundle cannot hold is refused with what to do."""
    from creditscore.modeling.bundle import ModelBundle
    from creditscore.modeling.contributions import explain
    from creditscore.modeling.estimators import BlendModel

    steps: list[str] = []
    result = train_segment(population.tables, "household", population.observation_dates(), families=["forest"],
                           progress=steps.append)
    forest = result.families["forest"]
    assert any(s.startswith("forest (1/1): 500 trees") for s in steps)
    assert forest.bundle.raw_scale == pytest.approx(1 / 500)
    assert forest.test["auc"] > 0.7
    again = ModelBundle.load(forest.bundle.save(tmp_path / "forest"), catalogue=result.catalogue)
    X = forest.test_features.iloc[:300]  # noqa: N806
    pd.testing.assert_frame_equal(again.predict(X), forest.bundle.predict(X))
    e = explain(again, X)
    np.testing.assert_allclose(e.margin, again.margin(X), atol=1e-9)
    assert np.abs(e.contributions).max() < 10  # log-odds, not summed over the trees
    import dataclasses

    misrecorded = dataclasses.replace(again, meta={**again.meta, "raw_scale": 1.0})  # as if LightGBM changed
    assert misrecorded.raw_scale == pytest.approx(1 / 500)  # measured on the booster, not only read back
    blend = BlendModel(parts=("scorecard", "forest")).fit(X, result.test_frame["default"].to_numpy()[:300])
    with pytest.raises(ValueError, match="trainer's blend of scorecard and additive"):
        ModelBundle.from_estimator(blend, segment="household", family="blend", catalogue=result.catalogue,
                                   calibrator=forest.bundle.calibrator, scale=forest.bundle.scale)
