"""Every indicator on hand-built records with known answers; missing is not zero; one path."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from creditscore.features import compute_features, load_catalogue
from creditscore.policy import Policy
from creditscore.records.contracts import KINDS
from tests.features.known import AS_OF, HEAD, HOUSEHOLD_EXPECTED, SME_EXPECTED


def _same(actual: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def test_every_sme_indicator_has_a_known_answer() -> None:
    assert set(load_catalogue("sme").ids) == set(SME_EXPECTED), "add the new indicator to SME_EXPECTED"


def test_every_household_indicator_has_a_known_answer() -> None:
    assert set(load_catalogue("household").ids) == set(HOUSEHOLD_EXPECTED)


@pytest.mark.parametrize("indicator", list(SME_EXPECTED))
def test_sme_indicator(indicator: str, sme_records: dict[str, pd.DataFrame], firms: tuple[str, str],
                       policy: Policy) -> None:
    features = compute_features(load_catalogue("sme"), sme_records, AS_OF, policy)
    a, b = firms
    expected_a, expected_b = SME_EXPECTED[indicator]
    assert _same(features.at[a, indicator], expected_a), (indicator, features.at[a, indicator], expected_a)
    assert _same(features.at[b, indicator], expected_b), (indicator, features.at[b, indicator], expected_b)


@pytest.mark.parametrize("indicator", list(HOUSEHOLD_EXPECTED))
def test_household_indicator(indicator: str, household_records: dict[str, pd.DataFrame], policy: Policy) -> None:
    features = compute_features(load_catalogue("household"), household_records, AS_OF, policy)
    value = features.at[HEAD, indicator]
    assert _same(value, HOUSEHOLD_EXPECTED[indicator]), (indicator, value)


def test_catalogues_are_large_enough_and_ordered() -> None:
    sme, household = load_catalogue("sme"), load_catalogue("household")
    assert len(sme.indicators) >= 30
    assert len(household.indicators) >= 20
    assert len(sme.monotone_constraints) == len(sme.ids)
    assert sme.categorical == ["industry"]
    assert set(sme.monotone_constraints) == {-1, 0, 1}


def test_no_tax_record_and_zero_tax_stay_different(sme_records: dict[str, pd.DataFrame], firms: tuple[str, str],
                                                   policy: Policy) -> None:
    a, b = firms
    features = compute_features(load_catalogue("sme"), sme_records, "2022-06-30", policy, subjects=[a, b])
    assert features.at[a, "taxes_paid_last_year"] == 0.0  # paid zero for 2021
    assert math.isnan(features.at[b, "taxes_paid_last_year"])  # no tax record at all
    assert features.at[b, "wage_arrears_cases_12m"] == 0.0  # no arrears recorded: none happened


def test_subjects_not_yet_registered_are_absent_by_default(sme_records: dict[str, pd.DataFrame],
                                                           firms: tuple[str, str], policy: Policy) -> None:
    features = compute_features(load_catalogue("sme"), sme_records, "2022-06-30", policy)
    assert list(features.index) == [firms[0]]


def test_single_subject_equals_its_row_in_the_batch(sme_records: dict[str, pd.DataFrame], firms: tuple[str, str],
                                                     policy: Policy) -> None:
    catalogue = load_catalogue("sme")
    batch = compute_features(catalogue, sme_records, AS_OF, policy)
    a = firms[0]
    only_a = {k: (v[v[KINDS[k].subject_column] == a] if k != "objections" else v) for k, v in sme_records.items()}
    one = compute_features(catalogue, only_a, AS_OF, policy, subjects=[a])
    np.testing.assert_array_equal(one.to_numpy(), batch.loc[[a]].to_numpy())


def test_numpy_engine_agrees_with_the_pandas_reference(policy: Policy) -> None:
    from creditscore.synth import SynthConfig, generate
    from tests.features import pandas_reference

    population = generate(SynthConfig(seed=4, n_firms=600, n_households=600))
    for segment in ("sme", "household"):
        catalogue = load_catalogue(segment)
        for as_of in ("2021-02-28", "2024-06-30"):
            ours = compute_features(catalogue, population.tables, as_of, policy)
            ref = pandas_reference.compute_features(catalogue, population.tables, as_of, policy).loc[ours.index]
            np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-12, atol=1e-9, equal_nan=True)
