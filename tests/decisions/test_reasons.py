"""Explanations: additivity, agreement with shap, the obvious reason first, every template, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.decisions.reason_charts import family_chart, waterfall
from creditscore.decisions.reasons import MEANING, explain, family_view, reasons
from creditscore.features import compute_features, load_catalogue
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.policy import load_policy
from creditscore.synth import SynthConfig, generate
from tests.helpers import typed


@pytest.fixture(scope="module")
def sme_features() -> pd.DataFrame:
    population = generate(SynthConfig(seed=31, n_firms=800, n_households=200))
    return compute_features(load_catalogue("sme"), population.tables, "2024-06-30", load_policy())


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return ModelBundle.load(DEMO_BUNDLES / "sme", catalogue=load_catalogue("sme"))


def test_contributions_add_up_to_the_margin(bundle: ModelBundle, sme_features: pd.DataFrame) -> None:
    rows = sme_features.sample(200, random_state=0)
    e = explain(bundle, rows)
    np.testing.assert_allclose(e.base_value + e.contributions.sum(axis=1), bundle.margin(rows), atol=1e-6, rtol=0)
    np.testing.assert_allclose(e.margin, bundle.margin(rows), atol=1e-6, rtol=0)


def test_treeshap_agrees_with_shap_tree_explainer(bundle: ModelBundle, sme_features: pd.DataFrame) -> None:
    import warnings

    import shap

    rows = sme_features.sample(100, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = shap.TreeExplainer(bundle.booster).shap_values(rows[bundle.feature_names].to_numpy())
    values = values[1] if isinstance(values, list) else values
    np.testing.assert_allclose(explain(bundle, rows).contributions, values, atol=1e-6, rtol=0)


def test_scorecard_points_are_additive_and_centred(sme_features: pd.DataFrame) -> None:
    from creditscore.modeling.train import train_segment

    population = generate(SynthConfig(seed=32, n_firms=3000, n_households=200))
    result = train_segment(population.tables, "sme", population.observation_dates(), families=["scorecard"])
    sc = result.families["scorecard"].bundle
    e = explain(sc, sme_features)
    np.testing.assert_allclose(e.margin, sc.margin(sme_features), atol=1e-9, rtol=0)
    assert abs(e.contributions.mean()) < 0.2  # centred on the average training subject


def _only_blacklisted_firm() -> dict[str, pd.DataFrame]:
    u = "91350100M000100Y43"
    return {
        "enterprises": typed("enterprises", [{"uscc": u, "name": "x", "registered_on": "2012-03-01", "industry": "C",
                                              "division_code": "350100", "size_class": "small",
                                              "registered_capital": "500万元"}]),
        "tax_grades": typed("tax_grades", [{"uscc": u, "year": y, "grade": "A"} for y in (2020, 2021, 2022, 2023)]),
        "tax_payments": typed("tax_payments", [{"uscc": u, "year": y, "amount": "300000"} for y in (2021, 2022, 2023)]),
        "contracts": typed("contracts", [{"uscc": u, "contract_no": f"C{i}", "signed_on": "2023-01-01",
                                          "due_on": "2023-12-01", "value": "200000", "status": "fulfilled",
                                          "settled_on": "2023-11-30"} for i in range(5)]),
        "wage_arrears": typed("wage_arrears", [{"uscc": u, "started_on": "2023-12-01", "amount": "150000",
                                                "workers": 20, "blacklisted_on": "2024-03-01",
                                                "published_on": "2023-12-20"}]),
    }


def test_a_blacklisted_wage_arrears_is_the_first_adverse_reason(bundle: ModelBundle) -> None:
    catalogue = load_catalogue("sme")
    X = compute_features(catalogue, _only_blacklisted_firm(), "2024-06-30", load_policy())  # noqa: N806
    r = reasons(explain(bundle, X), catalogue)
    first = r[(r["kind"] == "adverse") & (r["rank"] == 1)].iloc[0]
    assert first["reason_code"] == "wage_blacklisted_now"
    assert first["family"] == "wages"
    assert first["text_zh"] == "当前被列入拖欠农民工工资失信联合惩戒对象名单"
    assert (r.loc[r["kind"] == "favourable", "contribution"] < 0).all()


def test_reasons_have_the_asked_counts_and_signs(bundle: ModelBundle, sme_features: pd.DataFrame) -> None:
    catalogue = load_catalogue("sme")
    r = reasons(explain(bundle, sme_features), catalogue, adverse=4, favourable=1)
    counts = r.groupby(["subject_id", "kind"]).size().unstack(fill_value=0)
    assert counts["adverse"].max() == 4
    assert counts["favourable"].max() == 1
    assert (r.loc[r["kind"] == "adverse", "contribution"] > 0).all()
    ordered = r[r["kind"] == "adverse"].groupby("subject_id")["contribution"].apply(lambda s: s.is_monotonic_decreasing)
    assert ordered.all()
    assert r["text_zh"].str.len().gt(0).all()
    assert r["text_en"].str.len().gt(0).all()


def test_one_subject_gets_the_same_reasons_alone_and_in_a_batch(bundle: ModelBundle,
                                                                 sme_features: pd.DataFrame) -> None:
    """Texts too: a few subjects' are rendered one by one, a batch's once per distinct value."""
    catalogue = load_catalogue("sme")
    batch = reasons(explain(bundle, sme_features), catalogue)
    for subject in sme_features.index[::13]:
        alone = reasons(explain(bundle, sme_features.loc[[subject]]), catalogue)
        pd.testing.assert_frame_equal(alone, batch[batch["subject_id"] == subject].reset_index(drop=True))
    assert batch["text_en"].str.contains("no record").any()  # missing values are among the texts compared


def test_family_view_sums_to_the_contributions(bundle: ModelBundle, sme_features: pd.DataFrame) -> None:
    e = explain(bundle, sme_features)
    view = family_view(e, load_catalogue("sme"))
    np.testing.assert_allclose(view.sum(axis=1).to_numpy(), e.contributions.sum(axis=1))
    assert {"tax", "wages", "penalties"} <= set(view.columns)


def test_missing_values_say_no_record(bundle: ModelBundle, sme_features: pd.DataFrame) -> None:
    catalogue = load_catalogue("sme")
    r = reasons(explain(bundle, sme_features), catalogue, adverse=38, favourable=38)
    missing = r[r["value"].isna()]
    assert len(missing) > 0
    assert missing["text_en"].str.endswith(": no record").all()


def test_flags_read_differently_when_set_and_not_set() -> None:
    reason = load_catalogue("sme").by_id["court_listed_now"].reason
    assert reason.render("zh", 1.0) != reason.render("zh", 0.0)
    assert reason.render("en", 0.0).startswith("not on")


def test_meaning_is_stated_in_both_languages() -> None:
    assert "log-odds" in MEANING["en"]
    assert "基准值" in MEANING["zh"]


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_charts_render(bundle: ModelBundle, sme_features: pd.DataFrame, fmt: str) -> None:
    e = explain(bundle, sme_features.iloc[:5])
    catalogue = load_catalogue("sme")
    for chart in (waterfall(e, catalogue, 2, fmt=fmt), family_chart(e, catalogue, 2, fmt=fmt)):
        assert chart.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in chart[:500]


@pytest.fixture(scope="module")
def household_explained() -> tuple[pd.DataFrame, object]:
    population = generate(SynthConfig(seed=37, n_firms=50, n_households=1500))
    catalogue = load_catalogue("household")
    X = compute_features(catalogue, population.tables, "2024-06-30", load_policy())  # noqa: N806
    return X, explain(ModelBundle.load(DEMO_BUNDLES / "household", catalogue=catalogue), X)


@pytest.mark.parametrize("segment", ["sme", "household"])
def test_a_deduction_is_always_on_the_adverse_side_of_its_indicator(
        segment: str, bundle: ModelBundle, sme_features: pd.DataFrame,
        household_explained: tuple[pd.DataFrame, object]) -> None:
    """Zero arrears, zero debts, no listing, an assessment-day survey: never a deduction, whatever the model's
    contribution; a strength is never an arrears count above zero either. Checked on every reason given."""
    catalogue = load_catalogue(segment)
    e = explain(bundle, sme_features) if segment == "sme" else household_explained[1]
    r = reasons(e, catalogue, adverse=5, favourable=5)
    for kind in ("adverse", "favourable"):
        mine = r[r["kind"] == kind]
        for code, group in mine.groupby("reason_code"):
            allowed = catalogue.by_id[code].may_be(kind, group["value"].to_numpy(dtype=float))
            assert allowed.all(), (kind, code, group.loc[~allowed, "value"].unique()[:5])
    adverse = r[r["kind"] == "adverse"]
    increasing = [i.id for i in catalogue.indicators if i.direction.value == "increasing"]
    assert not ((adverse["reason_code"].isin(increasing)) & (adverse["value"] == 0)).any()
    for text in ("未结清贷款合计0元", "采集于0天前", "当前有0笔", "近五年有0条"):
        assert not adverse["text_zh"].str.contains(text, regex=False).any(), text
    assert len(adverse) > 0
    assert (r["kind"] == "favourable").any()


def test_the_model_is_asked_for_the_next_reason_when_one_may_not_be_given(
        household_explained: tuple[pd.DataFrame, object]) -> None:
    """Dropping a barred reason does not leave a subject with fewer deductions than the model has to give."""
    e = household_explained[1]
    catalogue = load_catalogue("household")
    r = reasons(e, catalogue, adverse=3, favourable=0)
    allowed = np.column_stack([ind.may_be("adverse", e.values[:, j])
                               for j, ind in enumerate(catalogue.indicators)])
    available = ((e.contributions > 1e-6) & allowed).sum(axis=1)
    given = r.groupby("subject_id").size().reindex(e.subjects, fill_value=0).to_numpy()
    np.testing.assert_array_equal(given, np.minimum(available, 3))


def test_a_fact_is_worded_for_its_side() -> None:
    """Income as a deduction says it is low, as a strength that it is good; zero says "none", not "0"."""
    household = load_catalogue("household")
    income = household.by_id["annual_income"].reason
    assert income.render("zh", 35_000.0, "adverse") == "家庭年收入偏低（35,000元）"
    assert income.render("zh", 120_000.0, "favourable") == "家庭年收入较高（120,000元）"
    assert income.render("en", 35_000.0, "adverse").startswith("low household income")
    assert income.render("zh", 35_000.0) == "家庭年收入35,000元"  # the plain fact, for a report's table
    defaults = household.by_id["past_defaults_5y"].reason
    assert defaults.render("zh", 0.0, "favourable") == "近五年无贷款违约"
    assert defaults.render("zh", 2.0, "adverse") == "近五年有2笔贷款违约"
    evaluation = household.by_id["village_evaluation"].reason
    assert evaluation.render("zh", 1.0, "adverse") == "村委会评价为“良好”，未达“优秀”"
    survey = household.by_id["survey_age_days"]
    assert not survey.may_be("adverse", np.array([0.0, 200.0])).any()
    assert survey.may_be("adverse", np.array([400.0])).all()
    sme = load_catalogue("sme")
    assert sme.by_id["taxes_paid_growth"].reason.render("zh", -0.2, "adverse") == "实缴税额同比下降（-20%）"
    assert not sme.by_id["taxes_paid_growth"].may_be("adverse", np.array([0.0, 0.1])).any()


@pytest.mark.parametrize("segment", ["sme", "household"])
@pytest.mark.parametrize("kind", ["adverse", "favourable"])
@pytest.mark.parametrize("value", [0.0, 1.0, 0.25, 12_345.6, -0.4])
def test_every_worded_reason_renders(segment: str, kind: str, value: float) -> None:
    for indicator in load_catalogue(segment).indicators:
        for language in ("zh", "en"):
            text = indicator.reason.render(language, value, kind)
            assert text, (indicator.id, kind, language)
            assert "{" not in text, (indicator.id, kind, language, text)
