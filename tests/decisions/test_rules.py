"""Policy: every override and red-list rule, every loan-term rule at its boundaries, and a strict policy file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.decisions.policy_check import load_checked_policy
from creditscore.decisions.rules import TAX_GRADE, decide
from creditscore.errors import ConfigError
from creditscore.features import load_catalogue
from creditscore.modeling.scales import load_scales
from creditscore.policy import POLICY_PATH, Policy
from tests.helpers import edited_copy

SCALES = load_scales().scales


def _sme(**values: float) -> pd.DataFrame:
    """One firm's indicators: a clean, tax-grade-B firm unless told otherwise."""
    row = dict.fromkeys(load_catalogue("sme").ids, 0.0)
    row.update(tax_grade_latest=1.0, taxes_paid_last_year=100_000.0, contracts_count_24m=2.0)
    row.update(values)
    return pd.DataFrame([row], index=["firm"])


def _decide(features: pd.DataFrame, pd_: float, policy: Policy, segment: str = "sme") -> pd.Series:
    tax = load_catalogue("sme").by_id[TAX_GRADE].decode(features[TAX_GRADE]) if segment == "sme" else None
    return decide(segment, features, np.array([pd_]), policy=policy, scale=SCALES[segment], tax_grades=tax).iloc[0]


@pytest.mark.parametrize(("indicator", "rule", "cap", "eligible"), [
    ("court_listed_now", "court_dishonest_debtor", "CCC", False),
    ("wage_blacklisted_now", "wage_arrears_blacklist", "CCC", False),
    ("serious_illegality_now", "serious_illegality", "CCC", False),
    ("abnormal_list_now", "abnormal_operations", "B", None),
    ("tax_grade_d_latest", "tax_grade_d", "BB", None),
])
def test_each_override_caps_the_grade(policy: Policy, indicator: str, rule: str, cap: str, eligible) -> None:
    d = _decide(_sme(**{indicator: 1.0}), 0.004, policy)  # the model alone says AA
    assert d["model_grade"] == "AA"
    assert d["final_grade"] == cap
    assert d["overrides"] == (rule,)
    if eligible is False:
        assert not d["eligible"]
        assert d["line_basis"] == "ineligible_override"


def test_a_cap_never_improves_a_worse_model_grade(policy: Policy) -> None:
    d = _decide(_sme(abnormal_list_now=1.0), 0.2, policy)  # model: CC, below the cap B
    assert (d["model_grade"], d["final_grade"]) == ("CC", "CC")


def test_several_overrides_take_the_strictest_cap(policy: Policy) -> None:
    d = _decide(_sme(abnormal_list_now=1.0, tax_grade_d_latest=1.0), 0.004, policy)
    assert d["final_grade"] == "B"
    assert d["overrides"] == ("abnormal_operations", "tax_grade_d")


def test_red_list_lifts_one_notch_not_above_its_limit(policy: Policy) -> None:
    d = _decide(_sme(tax_grade_a_years_3y=3.0, tax_grade_latest=0.0), 0.015, policy)  # model BBB
    assert (d["model_grade"], d["final_grade"], d["red_list"]) == ("BBB", "A", ("tax_grade_a_three_years",))
    top = _decide(_sme(tax_grade_a_years_3y=3.0, tax_grade_latest=0.0), 0.004, policy)  # model AA = the limit
    assert (top["final_grade"], top["red_list"]) == ("AA", ())


def test_red_list_total_lift_is_limited(policy: Policy) -> None:
    both = _sme(tax_grade_a_years_3y=3.0, tax_grade_latest=0.0, contracts_count_24m=6.0)
    d = _decide(both, 0.015, policy)
    assert d["final_grade"] == "A"  # two red-list facts, but at most one notch in all
    assert d["red_list"] == ("tax_grade_a_three_years",)


def test_no_red_list_lift_under_a_blacklist_rule(policy: Policy) -> None:
    d = _decide(_sme(tax_grade_a_years_3y=3.0, tax_grade_latest=0.0, abnormal_list_now=1.0), 0.05, policy)
    assert (d["final_grade"], d["red_list"]) == ("B", ())


def test_contract_keeper_needs_enough_contracts(policy: Policy) -> None:
    assert _decide(_sme(contracts_count_24m=5.0), 0.015, policy)["red_list"] == ("contract_keeper",)
    assert _decide(_sme(contracts_count_24m=4.0), 0.015, policy)["red_list"] == ()
    breached = _sme(contracts_count_24m=9.0, contract_breach_rate_24m=0.1)
    assert _decide(breached, 0.015, policy)["red_list"] == ()


@pytest.mark.parametrize(("tax_grade", "taxes", "pd_", "line", "basis"), [
    (1.0, 100_000.0, 0.015, 500_000, "taxes_multiple"),  # B: 5 × 100,000
    (0.0, 100_000.0, 0.015, 700_000, "taxes_multiple"),  # A: 7 ×
    (2.0, 100_000.0, 0.015, 200_000, "taxes_multiple"),  # M: 2 ×
    (1.0, 1_000_000.0, 0.015, 1_000_000, "grade_cap"),  # BBB cap 1,000,000
    (0.0, 1_000_000.0, 0.001, 3_000_000, "grade_cap"),  # AAA cap = product cap 3,000,000
    (1.0, 123_456.0, 0.015, 610_000, "taxes_multiple"),  # rounded down to 10,000 yuan
    (3.0, 100_000.0, 0.015, 0, "ineligible_tax_grade"),  # C: no tax-based loan
    (1.0, float("nan"), 0.015, 0, "no_tax_record"),
    (1.0, 100_000.0, 0.05, 0, "ineligible_grade"),  # B: not an eligible grade
])
def test_sme_credit_line(policy: Policy, tax_grade: float, taxes: float, pd_: float, line: float,
                         basis: str) -> None:
    d = _decide(_sme(tax_grade_latest=tax_grade, taxes_paid_last_year=taxes), pd_, policy)
    assert d["credit_line_yuan"] == line
    assert d["line_basis"] == basis
    assert bool(d["eligible"]) == (line > 0)


def test_sme_rate_and_term_follow_the_final_grade(policy: Policy) -> None:
    d = _decide(_sme(), 0.004, policy)
    assert (d["final_grade"], d["rate_adjustment_bp"], d["max_term_months"]) == ("AA", -30, 36)
    bb = _decide(_sme(), 0.03, policy)
    assert (bb["final_grade"], bb["rate_adjustment_bp"], bb["max_term_months"]) == ("BB", 40, 12)
    assert np.isnan(_decide(_sme(), 0.05, policy)["rate_adjustment_bp"])


def _household(**values: float) -> pd.DataFrame:
    row = dict.fromkeys(load_catalogue("household").ids, 0.0)
    row.update(values)
    return pd.DataFrame([row], index=["household"])


@pytest.mark.parametrize(("score", "grade", "line"), [
    (100.0, "AAA", 300_000), (95.0, "AAA", 300_000), (90.0, "AAA", 300_000), (89.99, "AAA", 200_000),
    (80.0, "AAA", 200_000), (79.99, "AA", 100_000), (70.0, "AA", 100_000), (69.99, "A", 50_000),
    (60.0, "A", 50_000), (59.99, "非信用户", 0),
])
def test_household_line_by_score_band(policy: Policy, score: float, grade: str, line: int) -> None:
    scale = SCALES["household"].score
    pd_ = scale.pd_at(score) if score < 100 else 1e-6
    d = _decide(_household(), pd_, policy, "household")
    assert d["score"] == pytest.approx(score, abs=0.006)
    assert (d["final_grade"], d["credit_line_yuan"]) == (grade, line)


def test_household_court_listing_withholds_credit(policy: Policy) -> None:
    d = _decide(_household(court_listed_now=1.0), 0.005, policy, "household")
    assert (d["model_grade"], d["final_grade"], d["eligible"]) == ("AAA", "非信用户", False)


def test_policy_version_is_in_every_decision(policy: Policy) -> None:
    assert _decide(_sme(), 0.01, policy)["policy_version"] == policy.version


def _policy_with(tmp_path: Path, old: str, new: str) -> Path:
    return edited_copy(POLICY_PATH, tmp_path, old, new)


def test_unknown_key_is_refused_with_file_line_and_key(tmp_path: Path) -> None:
    path = _policy_with(tmp_path, "    ineligible: true\n", "    inelegible: true\n")
    with pytest.raises(ConfigError, match=r"policy\.yaml:\d+: overrides\[0\]\.inelegible: Extra inputs"):
        load_checked_policy(path)


def test_overlapping_line_bands_are_refused(tmp_path: Path) -> None:
    path = _policy_with(tmp_path, "{lower: 80, upper: 90,  line_yuan: 200000}",
                        "{lower: 80, upper: 92,  line_yuan: 200000}")
    with pytest.raises(ConfigError, match=r"loan_terms\.household: .*80\.0–92\.0 and 90\.0–100\.0 overlap"):
        load_checked_policy(path)


def test_rule_on_an_unknown_indicator_is_refused(tmp_path: Path) -> None:
    path = _policy_with(tmp_path, "indicator: court_listed_now", "indicator: court_listed")
    with pytest.raises(ConfigError, match=r"overrides\[0\]\.when\[0\]\.indicator: 'court_listed' is not an indicator"):
        load_checked_policy(path)


def test_cap_to_an_unknown_grade_is_refused(tmp_path: Path) -> None:
    path = _policy_with(tmp_path, "cap: {sme: B}", "cap: {sme: BBBB}")
    with pytest.raises(ConfigError, match="'BBBB' is not a grade of the sme scale"):
        load_checked_policy(path)


def test_loan_maps_must_cover_the_eligible_grades(tmp_path: Path) -> None:
    path = _policy_with(tmp_path, "max_term_months: {AAA: 36, AA: 24, A: 12}", "max_term_months: {AAA: 36, AA: 24}")
    with pytest.raises(ConfigError, match="max_term_months must cover exactly the eligible grades"):
        load_checked_policy(path)
