"""Point-in-time rules: no leakage (property test), credit repair at its boundaries, objections."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditscore.features import compute_features, load_catalogue
from creditscore.policy import ObjectionRule, PendingTreatment, Policy
from creditscore.records.contracts import KINDS
from creditscore.synth import SynthConfig, generate
from tests.helpers import typed

T = pd.Timestamp("2023-06-30")
RECORD_KINDS = ["tax_grades", "tax_payments", "wage_arrears", "penalties", "contracts", "court_listings",
                "market_listings", "social_insurance_arrears", "utility_arrears", "loans", "delinquencies",
                "households"]


@pytest.fixture(scope="module")
def population():
    return generate(SynthConfig(seed=8, n_firms=300, n_households=300))


@pytest.fixture(scope="module")
def baseline(population, policy: Policy) -> dict[str, pd.DataFrame]:
    return {seg: compute_features(load_catalogue(seg), population.tables, T, policy) for seg in ("sme", "household")}


def _date_columns(kind: str) -> list[str]:
    return [f.name for f in KINDS[kind].fields if f.type.value in ("date", "month")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(RECORD_KINDS), row=st.integers(0, 10**6), shift=st.integers(1, 2000),
       late_only=st.booleans())
def test_records_dated_after_t_never_change_features_at_t(population, baseline, policy: Policy, kind: str, row: int,
                                                         shift: int, late_only: bool) -> None:
    """Add a copy of any record, moved after t (or only published after t): features at t do not move."""
    table = population.tables[kind]
    record = table.iloc[[row % len(table)]].copy()
    dates = _date_columns(kind)
    if late_only and "published_on" in record:
        record["published_on"] = T + pd.Timedelta(days=shift)  # a late arrival: happened before, known after
    else:
        for col in dates:
            record[col] = record[col].where(record[col].isna(), T + pd.Timedelta(days=shift))
        if "year" in record:
            record["year"] = T.year + 1 + shift % 3
            record["published_on"] = T + pd.Timedelta(days=shift + 400)
    key = KINDS[kind].key
    for col in key:
        if col == KINDS[kind].subject_column:
            continue
        if record[col].dtype == "string" or record[col].dtype == object:
            record[col] = record[col].astype("string") + "-after"
    records = dict(population.tables)
    records[kind] = pd.concat([table, record], ignore_index=True)
    segment = "household" if kind == "households" or record.get("subject_type", pd.Series(["enterprise"])).iloc[0] \
        == "household" else "sme"
    catalogue = load_catalogue(segment)
    subject = str(record[KINDS[kind].subject_column].iloc[0])
    before = baseline[segment]
    if subject not in before.index:
        return
    after = compute_features(catalogue, records, T, policy, subjects=[subject])
    np.testing.assert_array_equal(after.to_numpy(), before.loc[[subject]].to_numpy())


def _penalty(severity: str, decided: str, repaired: str | None = None) -> dict[str, pd.DataFrame]:
    uscc = "91350100M000100Y43"
    return {
        "enterprises": typed("enterprises", [{"uscc": uscc, "name": "x", "registered_on": "2010-01-01",
                                              "industry": "C", "division_code": "350100", "size_class": "small"}]),
        "penalties": typed("penalties", [{"uscc": uscc, "decision_no": "N1", "decided_on": decided, "authority": "a",
                                          "severity": severity, "amount": "1000", "repaired_on": repaired,
                                          "published_on": decided}]),
    }


def _count(records: dict[str, pd.DataFrame], as_of: str, policy: Policy, column: str) -> float:
    return compute_features(load_catalogue("sme"), records, as_of, policy).iloc[0][column]


@pytest.mark.parametrize(("severity", "days", "column"), [
    ("minor", 90, "penalties_minor_12m"), ("general", 365, "penalties_general_24m"),
    ("serious", 1095, "penalties_serious_36m"),
])
def test_penalty_counts_until_its_disclosure_period_ends(policy: Policy, severity: str, days: int,
                                                         column: str) -> None:
    records = _penalty(severity, "2022-03-01")
    last_day = (pd.Timestamp("2022-03-01") + pd.Timedelta(days=days - 1)).date().isoformat()
    first_day_after = (pd.Timestamp("2022-03-01") + pd.Timedelta(days=days)).date().isoformat()
    assert _count(records, last_day, policy, column) == 1
    assert _count(records, first_day_after, policy, column) == 0


def test_early_repair_takes_effect_on_the_repair_date(policy: Policy) -> None:
    records = _penalty("serious", "2022-03-01", repaired="2023-06-01")  # after the one-year minimum
    assert _count(records, "2023-05-31", policy, "penalties_serious_36m") == 1
    assert _count(records, "2023-06-01", policy, "penalties_serious_36m") == 0


def test_early_repair_waits_for_the_minimum_period(policy: Policy) -> None:
    records = _penalty("serious", "2022-03-01", repaired="2022-04-01")  # repaired after a month
    assert _count(records, "2023-02-28", policy, "penalties_serious_36m") == 1  # minimum: 365 days
    assert _count(records, "2023-03-01", policy, "penalties_serious_36m") == 0


def test_a_repair_dated_after_t_is_not_known_at_t(policy: Policy) -> None:
    records = _penalty("general", "2022-03-01", repaired="2022-12-01")
    assert _count(records, "2022-11-30", policy, "penalties_general_24m") == 1


def _with_objection(status: str, filed: str, resolved: str | None) -> dict[str, pd.DataFrame]:
    records = _penalty("serious", "2022-03-01")
    records["objections"] = typed("objections", [{"target_kind": "penalties", "target_key": "91350100M000100Y43|N1",
                                                  "filed_on": filed, "status": status, "resolved_on": resolved}])
    return records


def test_pending_objection_excludes_the_record_by_default(policy: Policy) -> None:
    records = _with_objection("pending", "2022-05-01", None)
    assert _count(records, "2022-04-30", policy, "penalties_serious_36m") == 1  # before it was filed
    assert _count(records, "2022-05-01", policy, "penalties_serious_36m") == 0


def test_pending_objection_can_be_configured_to_count(policy: Policy) -> None:
    include = policy.model_copy(update={"objections": ObjectionRule(pending=PendingTreatment.INCLUDE)})
    assert _count(_with_objection("pending", "2022-05-01", None), "2022-06-01", include, "penalties_serious_36m") == 1


def test_an_answered_objection_lets_the_record_count_again_as_it_stands(policy: Policy) -> None:
    rejected = _with_objection("rejected", "2022-05-01", "2022-05-15")
    assert _count(rejected, "2022-05-10", policy, "penalties_serious_36m") == 0  # pending then
    assert _count(rejected, "2022-05-15", policy, "penalties_serious_36m") == 1  # rejected: counts again
    # upheld: the store has corrected the record (a deleted record is simply absent, see test_objections)
    upheld = _with_objection("upheld", "2022-05-01", "2022-05-15")
    assert _count(upheld, "2022-05-14", policy, "penalties_serious_36m") == 0
    assert _count(upheld, "2022-05-15", policy, "penalties_serious_36m") == 1


def test_missing_survey_values_stay_missing(policy: Policy) -> None:
    rows = [{"head_id": "410882197503090017", "head_name": "王", "county_code": "410882", "county_name": "沁阳市",
             "township_code": "410882101", "township_name": "镇", "village_code": "410882101201",
             "village_name": "村", "members": 3, "labourers": 0, "land_mu": None, "annual_income": "0",
             "assets": "0", "liabilities": "0", "surveyed_on": "2024-03-01"}]
    features = compute_features(load_catalogue("household"), {"households": typed("households", rows)},
                                "2024-06-30", policy).iloc[0]
    assert math.isnan(features["land_mu"])
    assert math.isnan(features["village_evaluation"])
    assert math.isnan(features["debt_to_income"])  # 0 / 0 is unknown, not zero
    assert features["labourers_per_member"] == 0.0
