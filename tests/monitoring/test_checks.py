"""Monitoring: stability indices, migration, back-testing intervals and alerts, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from creditscore.errors import ConfigError
from creditscore.features import load_catalogue
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.monitoring.checks import (
    backtest,
    binomial_interval,
    load_monitoring_config,
    migration_matrix,
    monitor,
    psi,
    stability_table,
)
from creditscore.policy import Policy
from tests.helpers import edited_copy

CONFIG = load_monitoring_config()


def test_psi_of_a_population_against_itself_is_zero() -> None:
    x = np.random.default_rng(1).normal(size=5_000)
    assert psi(x, x) == 0.0
    with_gaps = np.where(np.arange(5_000) % 7 == 0, np.nan, x)
    assert psi(with_gaps, with_gaps) == 0.0
    assert psi(np.array(["A", "B", "B"], dtype=object), np.array(["A", "B", "B"], dtype=object),
               categories=["A", "B", "C"]) == 0.0


def test_psi_matches_a_hand_computation() -> None:
    ref = np.array(["AAA"] * 50 + ["AA"] * 30 + ["A"] * 20, dtype=object)
    cur = np.array(["AAA"] * 30 + ["AA"] * 30 + ["A"] * 40, dtype=object)
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi(ref, cur, categories=["AAA", "AA", "A"]) == pytest.approx(expected)


def test_equal_count_bins_come_from_the_reference_and_missing_values_are_a_bin() -> None:
    ref = np.arange(100, dtype=float)
    table = stability_table(ref, np.concatenate([np.arange(50, dtype=float), [np.nan] * 50]), bins=4)
    assert table["reference_share"].tolist() == [0.25, 0.25, 0.25, 0.25, 0.0]
    assert table["current_share"].tolist() == [0.25, 0.25, 0.0, 0.0, 0.5]
    assert table["bin"].iloc[-1] == "missing"


def test_few_valued_indicators_are_compared_value_by_value() -> None:
    ref = np.array([0.0] * 90 + [1.0] * 10)
    cur = np.array([0.0] * 70 + [1.0] * 30)
    table = stability_table(ref, cur, bins=10)
    assert table["bin"].tolist() == ["0.0", "1.0"]
    assert psi(ref, cur) == pytest.approx((0.7 - 0.9) * math.log(0.7 / 0.9) + (0.3 - 0.1) * math.log(0.3 / 0.1))


def test_migration_counts_and_shares() -> None:
    order = ["AAA", "AA", "A", "非信用户"]
    before = pd.Series({"h1": "AAA", "h2": "AA", "h3": "A", "h4": "AA", "h5": "AAA"})
    after = pd.Series({"h1": "AAA", "h2": "非信用户", "h3": "AA", "h4": "AA", "h6": "A"})
    matrix, summary = migration_matrix(before, after, order)
    assert matrix.loc["AA", "非信用户"] == 1
    assert matrix.loc["A", "AA"] == 1
    assert int(matrix.to_numpy().sum()) == 4
    assert summary == {"subjects_both": 4, "new": 1, "gone": 1, "stable_share": 0.5, "upgraded_share": 0.25,
                       "downgraded_share": 0.25, "downgraded_2plus_share": 0.25}


def test_binomial_intervals_on_a_hand_case() -> None:
    # 5 defaults of 100: Clopper–Pearson 95 % = [0.016432, 0.112835] (Beta quantiles, as in any textbook table)
    low, high = binomial_interval(5, 100, confidence=0.95, method="exact")
    assert (low, high) == (pytest.approx(0.016432, abs=1e-6), pytest.approx(0.112835, abs=1e-6))
    low, high = binomial_interval(5, 100, confidence=0.95, method="jeffreys")
    assert (low, high) == (pytest.approx(0.019332, abs=1e-6), pytest.approx(0.106100, abs=1e-6))
    assert binomial_interval(0, 50, method="exact")[0] == 0.0
    assert binomial_interval(0, 50, method="exact")[1] == pytest.approx(1 - 0.025 ** (1 / 50))  # closed form


def test_backtest_verdicts_per_grade() -> None:
    order = ["AAA", "AA", "A"]
    grades = np.array(["AAA"] * 100 + ["AA"] * 100 + ["A"] * 10)
    pd_ = np.array([0.05] * 100 + [0.01] * 100 + [0.5] * 10)
    defaults = np.zeros(210, dtype=int)
    defaults[:5] = 1  # AAA: 5 of 100 at PD 5 %: consistent
    defaults[100:112] = 1  # AA: 12 of 100 at PD 1 %: far above — risk under-stated
    table = backtest(pd_, defaults, grades, order, config=CONFIG).set_index("grade")
    assert table.loc["AAA", "verdict"] == "consistent"
    assert table.loc["AA", "verdict"] == "PD too low"
    assert table.loc["AA", "p_value"] < 1e-6
    assert table.loc["A", "verdict"] == "not judged"  # 10 < min_count
    assert table.loc["all", "count"] == 210


def test_the_thresholds_file_is_validated(tmp_path) -> None:
    from creditscore.monitoring.checks import CONFIG_PATH

    bad = edited_copy(CONFIG_PATH, tmp_path, "psi: {warn: 0.10, alert: 0.25}", "psi: {warn: 0.30, alert: 0.25}")
    with pytest.raises(ConfigError, match=r"monitoring.yaml:\d+: stability.psi: .*warn"):
        load_monitoring_config(bad)


@pytest.fixture(scope="module")
def household_population() -> pd.DataFrame:
    from creditscore.features.snapshots import build_snapshots
    from creditscore.policy import load_policy
    from creditscore.synth import SynthConfig, generate

    population = generate(SynthConfig(seed=21, n_firms=50, n_households=3_000))
    return build_snapshots(population.tables, load_catalogue("household"), ["2022-06-30", "2023-06-30"],
                           load_policy())


def test_monitoring_a_population_like_the_reference_raises_no_stability_alert(
        household_population: pd.DataFrame, policy: Policy) -> None:
    catalogue = load_catalogue("household")
    bundle = ModelBundle.load(DEMO_BUNDLES / "household", catalogue=catalogue)
    snaps = household_population
    ref = snaps[snaps["as_of"] == "2022-06-30"].set_index("subject_id")
    cur = snaps[snaps["as_of"] == "2023-06-30"].set_index("subject_id")
    report = monitor(bundle, catalogue, policy, reference=ref, current=cur, current_date="2023-06-30",
                     previous=ref, previous_date="2022-06-30", defaults=cur["default"])
    assert report.score_psi < CONFIG.stability.psi.warn
    assert not [a for a in report.alerts if a.check in ("score_psi", "grade_psi")]
    assert report.backtest is not None
    assert report.discrimination["auc"] > 0.7
    assert int(report.migration.to_numpy().sum()) == report.migration_summary["subjects_both"]
    same = monitor(bundle, catalogue, policy, reference=cur, current=cur, current_date="2023-06-30")
    assert same.score_psi == 0.0
    assert same.grade_psi == 0.0
    assert (same.csi["csi"] == 0).all()


def test_a_shifted_population_raises_the_alerts(household_population: pd.DataFrame, policy: Policy) -> None:
    catalogue = load_catalogue("household")
    bundle = ModelBundle.load(DEMO_BUNDLES / "household", catalogue=catalogue)
    ref = household_population[household_population["as_of"] == "2022-06-30"].set_index("subject_id")
    shifted = ref.copy()
    shifted["income_per_capita"] = shifted["income_per_capita"] * 0.3  # a bad harvest year, or a unit error
    shifted["utility_arrears_months_12m"] = shifted["utility_arrears_months_12m"] + 3
    report = monitor(bundle, catalogue, policy, reference=ref, current=shifted, current_date="2022-06-30")
    checks = {(a.check, a.subject, a.level) for a in report.alerts}
    assert ("score_psi", "score", "alert") in checks
    assert ("csi", "income_per_capita", "alert") in checks
    assert ("csi", "utility_arrears_months_12m", "alert") in checks
    assert report.csi.iloc[0]["indicator"] in {"income_per_capita", "utility_arrears_months_12m"}
    assert all(a.action for a in report.alerts)
    payload = report.to_dict()
    assert payload["alerts"][0]["level"] == "alert"


def test_the_command_writes_json_and_html_from_the_store(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from creditscore.cli import app
    from creditscore.monitoring.checks import CONFIG_PATH
    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    settings = Settings(data_dir=tmp_path / "data")
    store = Store(settings.store_url)
    store.init()
    load_feeds(store, generate(SynthConfig(seed=8, n_firms=40, n_households=1_200)).write_files(tmp_path / "feeds"))
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("CREDITSCORE_DATABASE_URL", raising=False)
    # a committee's own, stricter limits: the demo model on this population crosses none of the shipped ones
    strict = edited_copy(CONFIG_PATH, tmp_path, "csi: {warn: 0.10, alert: 0.25}", "csi: {warn: 0.005, alert: 0.01}")
    result = CliRunner().invoke(app, ["monitor", "--segment", "household", "--model", "demo", "--thresholds",
                                      str(strict), "--date", "2023-06-30", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "m" / "monitoring-household-2023-06-30.json").read_text(encoding="utf-8"))
    assert data["previous_date"] == "2022-06-30"
    assert data["reference"].startswith("the model's training population")
    assert {r["grade"] for r in data["backtest"]} == {"AAA", "AA", "A", "非信用户", "all"}
    assert len(data["csi"]) == len(load_catalogue("household").ids)
    said = " ".join(result.output.split())
    assert said.count("action:") == len(data["alerts"]) > 0  # every alert printed with what to do about it
    for alert in data["alerts"]:
        assert " ".join(alert["action"].split())[:60] in said
    page = (tmp_path / "m" / "monitoring-household-2023-06-30.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "Grade migration 2022-06-30 → 2023-06-30" in page
    recent = f"{store.latest_publication().year}-06-30"  # its 12 months of outcomes are not all in yet
    late = CliRunner().invoke(app, ["monitor", "--segment", "household", "--model", "demo",
                                    "--date", recent, "--out", str(tmp_path / "m")])
    assert late.exit_code == 0, late.output
    assert "not back-tested" in late.output
    wrong = CliRunner().invoke(app, ["monitor", "--segment", "household", "--thresholds", str(tmp_path / "no.yaml")])
    assert wrong.exit_code == 2, wrong.output
    assert "no.yaml" in " ".join(wrong.output.replace("│", " ").split())


@pytest.mark.parametrize("segment", ["sme", "household"])
def test_a_fresh_model_sees_no_drift_between_its_training_population_and_its_test_date(
        segment: str, policy: Policy) -> None:
    """The synthetic world's history begins years before its first loan and its firms' ages are stationary, so
    a model trained a minute before finds no drift of the generator's making (a 3-rating tax-grade trend had CSI
    1.8, firms' ages 0.33, when the records began a year before the first training date)."""
    from creditscore.features.snapshots import build_snapshots
    from creditscore.modeling.train import train_segment
    from creditscore.synth import SynthConfig, generate

    population = generate(SynthConfig(seed=31, n_firms=4_000, n_households=4_000))
    result = train_segment(population.tables, segment, population.observation_dates(), families=["scorecard"])
    catalogue = result.catalogue
    train, test = result.dates["train"], result.dates["test"]
    snaps = build_snapshots(population.tables, catalogue, [*train, *test], policy)
    reference = snaps[snaps["as_of"].isin(pd.to_datetime(train))].set_index("subject_id")
    current = snaps[snaps["as_of"].isin(pd.to_datetime(test))].set_index("subject_id")
    report = monitor(result.champion_bundle, catalogue, policy, reference=reference, current=current,
                     current_date=test[0])
    drift = [a for a in report.alerts if a.check in ("score_psi", "grade_psi", "csi") and a.level == "alert"]
    assert not drift, [a.message for a in drift]
    assert report.score_psi < CONFIG.stability.psi.warn
    if segment == "sme":
        csi = report.csi.set_index("indicator")["csi"]
        assert csi[["tax_grade_trend_3y", "taxes_paid_growth", "firm_age_years"]].max() < CONFIG.stability.csi.warn
