"""Hand-built subjects whose every indicator is known, as of 2024-06-30 (helpers: the fixtures in conftest.py
hand them to tests)."""

from __future__ import annotations

import functools

import pandas as pd

from tests.helpers import typed

AS_OF = "2024-06-30"
HEAD = "410882197503090017"


@functools.cache
def firms() -> tuple[str, str]:
    import random

    from creditscore.records.ids import generate_uscc

    rng = random.Random(3)
    return generate_uscc(rng, division_code="410102"), generate_uscc(rng, division_code="410102", org_type="2")


@functools.cache
def sme_records() -> dict[str, pd.DataFrame]:
    a, b = firms()
    return {
        "enterprises": typed("enterprises", [
            {"uscc": a, "name": "甲建筑公司", "registered_on": "2015-06-30", "industry": "E", "division_code": "410102",
             "size_class": "small", "registered_capital": "100万元"},
            {"uscc": b, "name": "乙商行", "registered_on": "2023-01-01", "industry": "F", "division_code": "410102",
             "size_class": "micro", "registered_capital": None},
        ]),
        "tax_grades": typed("tax_grades", [
            {"uscc": a, "year": 2020, "grade": "A", "published_on": "2021-04-20"},
            {"uscc": a, "year": 2021, "grade": "B", "published_on": "2022-04-20"},
            {"uscc": a, "year": 2022, "grade": "C", "published_on": "2023-04-20"},
            {"uscc": a, "year": 2023, "grade": "D", "published_on": "2024-04-20"},
            {"uscc": b, "year": 2023, "grade": "M", "published_on": "2024-04-20"},
        ]),
        "tax_payments": typed("tax_payments", [
            {"uscc": a, "year": 2021, "amount": "0", "published_on": "2022-05-31"},
            {"uscc": a, "year": 2022, "amount": "100000", "published_on": "2023-05-31"},
            {"uscc": a, "year": 2023, "amount": "50000", "published_on": "2024-05-31"},
        ]),
        "wage_arrears": typed("wage_arrears", [
            {"uscc": a, "started_on": "2023-09-01", "amount": "80000", "workers": 12, "blacklisted_on": "2024-01-10",
             "published_on": "2023-10-01"},
            {"uscc": a, "started_on": "2022-03-01", "amount": "20000", "workers": 5, "resolved_on": "2022-05-01",
             "published_on": "2022-04-01"},
            # published after the as-of date: must not count
            {"uscc": a, "started_on": "2024-05-01", "amount": "9000", "workers": 3, "published_on": "2024-07-15"},
        ]),
        "penalties": typed("penalties", [
            {"uscc": a, "decision_no": "P1", "decided_on": "2024-05-01", "authority": "市监局", "severity": "minor",
             "amount": "2000", "published_on": "2024-05-08"},
            {"uscc": a, "decision_no": "P2", "decided_on": "2024-01-15", "authority": "市监局", "severity": "minor",
             "amount": "1000", "published_on": "2024-01-20"},  # past its 90-day disclosure
            {"uscc": a, "decision_no": "P3", "decided_on": "2023-09-01", "authority": "环保局", "severity": "general",
             "amount": "30000", "published_on": "2023-09-08"},
            {"uscc": a, "decision_no": "P4", "decided_on": "2023-08-01", "authority": "环保局", "severity": "general",
             "amount": "5000", "repaired_on": "2023-12-01", "published_on": "2023-08-08"},  # repaired early
            {"uscc": a, "decision_no": "P5", "decided_on": "2022-01-10", "authority": "应急局", "severity": "serious",
             "amount": "200000", "published_on": "2022-01-15"},
            {"uscc": a, "decision_no": "P6", "decided_on": "2023-11-11", "authority": "应急局", "severity": "serious",
             "amount": "70000", "published_on": "2023-11-18"},  # under objection
        ]),
        "contracts": typed("contracts", [
            {"uscc": a, "contract_no": "C1", "signed_on": "2022-11-01", "due_on": "2023-04-30", "value": "100000",
             "status": "fulfilled", "settled_on": "2023-04-28", "published_on": "2023-05-01"},
            {"uscc": a, "contract_no": "C2", "signed_on": "2023-06-01", "due_on": "2024-01-31", "value": "300000",
             "status": "breached", "published_on": "2024-02-01"},
            {"uscc": a, "contract_no": "C3", "signed_on": "2023-05-01", "due_on": "2023-11-30", "value": "100000",
             "status": "disputed", "published_on": "2023-12-01"},
            {"uscc": a, "contract_no": "C4", "signed_on": "2020-06-01", "due_on": "2020-12-31", "value": "50000",
             "status": "fulfilled", "settled_on": "2020-12-30", "published_on": "2021-01-01"},
        ]),
        "court_listings": typed("court_listings", [
            {"subject_id": a, "case_no": "（2023）豫0102执1号", "listed_on": "2023-02-01",
             "published_on": "2023-02-04"},
        ]),
        "market_listings": typed("market_listings", [
            {"uscc": a, "list_type": "abnormal", "entered_on": "2022-05-01", "exited_on": "2022-09-01",
             "published_on": "2022-05-04"},
            {"uscc": a, "list_type": "abnormal", "entered_on": "2024-03-01", "exited_on": "2024-08-01",
             "published_on": "2024-03-04"},  # the exit is after the as-of date: still listed then
        ]),
        "social_insurance_arrears": typed("social_insurance_arrears", [
            {"uscc": a, "month": "2023-09", "amount": "3000", "paid_on": "2023-12-15", "published_on": "2023-10-15"},
            {"uscc": a, "month": "2023-10", "amount": "3000", "published_on": "2023-11-15"},
            {"uscc": a, "month": "2024-01", "amount": "3000", "published_on": "2024-02-15"},
            {"uscc": a, "month": "2024-05", "amount": "3000", "published_on": "2024-06-14"},
        ]),
        "utility_arrears": typed("utility_arrears", [
            {"subject_id": a, "utility": "electricity", "month": "2024-02", "amount": "800", "paid_on": "2024-03-10",
             "published_on": "2024-04-05"},
        ]),
        "loans": typed("loans", [
            {"subject_id": a, "loan_no": "L1", "bank": "农商行", "opened_on": "2021-01-10", "amount": "500000",
             "term_months": 12, "default_on": "2021-09-01"},
            {"subject_id": a, "loan_no": "L2", "bank": "农商行", "opened_on": "2024-01-05", "amount": "300000",
             "term_months": 12},
        ]),
        "delinquencies": typed("delinquencies", [
            {"subject_id": a, "loan_no": "L2", "started_on": "2024-05-20", "days_past_due": 60},
            {"subject_id": a, "loan_no": "L1", "started_on": "2021-06-03", "days_past_due": 120},
        ]),
        "objections": typed("objections", [
            {"target_kind": "penalties", "target_key": f"{a}|P6", "filed_on": "2024-06-20", "status": "pending"},
        ]),
    }


#: Every SME indicator's value for firm A (all records) and firm B (new, only a tax grade M), as of 2024-06-30.
NAN = float("nan")
SME_EXPECTED: dict[str, tuple[float, float]] = {
    "tax_grade_latest": (4, 2),
    "tax_grade_d_latest": (1, 0),
    "tax_grade_trend_3y": (3, NAN),  # D (4) against B (1) two ratings earlier
    "tax_grade_a_years_3y": (0, 0),  # 2020's A is outside the three rating years 2021–2023
    "tax_grade_cd_years_3y": (2, 0),
    "taxes_paid_last_year": (50_000, NAN),  # missing is not zero
    "taxes_paid_growth": (-0.5, NAN),
    "zero_tax_years_3y": (1, 0),
    "wage_arrears_cases_12m": (1, 0),
    "wage_arrears_amount_24m": (80_000, 0),
    "wage_arrears_workers_24m": (12, 0),
    "wage_arrears_days_since_last": (303, NAN),
    "wage_arrears_unresolved_now": (1, 0),
    "wage_blacklisted_now": (1, 0),
    "penalties_minor_12m": (1, 0),
    "penalties_general_24m": (1, 0),
    "penalties_serious_36m": (1, 0),
    "penalty_fines_24m": (32_000, 0),
    "penalties_days_since_last": (303, NAN),
    "contract_breach_rate_24m": (1 / 3, NAN),
    "contract_dispute_rate_24m": (1 / 3, NAN),
    "contract_bad_value_share_24m": (0.8, NAN),
    "contracts_count_24m": (3, 0),
    "court_listed_now": (1, 0),
    "court_listings_5y": (1, 0),
    "abnormal_list_now": (1, 0),
    "abnormal_list_5y": (2, 0),
    "serious_illegality_now": (0, 0),
    "si_arrears_months_12m": (4, 0),
    "si_arrears_unpaid_now": (3, 0),
    "utility_arrears_months_12m": (1, 0),
    "past_defaults_5y": (1, 0),
    "max_dpd_24m": (41, 0),  # 60 days in the end, but only 41 had elapsed on 2024-06-30
    "loans_outstanding_now": (1, 0),
    "firm_age_years": (3288 / 365.25, 546 / 365.25),
    "size_class": (1, 0),
    "industry": (4, 5),
    "registered_capital": (1_000_000, NAN),
}


@functools.cache
def household_records() -> dict[str, pd.DataFrame]:
    base = {"head_id": HEAD, "head_name": "王建国", "county_code": "410882", "county_name": "沁阳市",
            "township_code": "410882101", "township_name": "王曲镇", "village_code": "410882101201",
            "village_name": "东王村", "members": 4, "labourers": 2, "land_mu": "5.5"}
    return {
        "households": typed("households", [
            {**base, "annual_income": "80000", "assets": "300000", "liabilities": "60000",
             "village_evaluation": "good", "surveyed_on": "2023-03-15"},
            {**base, "annual_income": "10万元", "assets": "320000", "liabilities": "80000",
             "village_evaluation": "一般", "surveyed_on": "2024-03-20"},
            {**base, "annual_income": "150000", "assets": "320000", "liabilities": "0",
             "village_evaluation": "excellent", "surveyed_on": "2025-03-20"},  # after the as-of date
        ]),
        "utility_arrears": typed("utility_arrears", [
            {"subject_id": HEAD, "utility": "water", "month": "2024-01", "amount": "120",
             "published_on": "2024-03-01"},
        ]),
        "loans": typed("loans", [
            {"subject_id": HEAD, "loan_no": "NH1", "bank": "农信社", "opened_on": "2023-01-10", "amount": "50000",
             "term_months": 24},
        ]),
        "delinquencies": typed("delinquencies", [
            {"subject_id": HEAD, "loan_no": "NH1", "started_on": "2023-08-01", "days_past_due": 20,
             "cured_on": "2023-08-21"},
        ]),
    }


HOUSEHOLD_EXPECTED: dict[str, float] = {
    "members": 4,
    "labourers_per_member": 0.5,
    "head_age_years": (pd.Timestamp(AS_OF) - pd.Timestamp("1975-03-09")).days / 365.25,
    "land_mu": 5.5,
    "village_evaluation": 2,  # fair (一般)
    "survey_age_days": 102,
    "annual_income": 100_000,
    "income_per_capita": 25_000,
    "income_growth": 0.25,
    "debt_to_income": 0.8,
    "liability_to_asset": 0.25,
    "net_worth": 240_000,
    "court_listed_now": 0,
    "court_listings_5y": 0,
    "utility_arrears_months_12m": 1,
    "utility_arrears_unpaid_now": 1,
    "past_defaults_5y": 0,
    "written_off_5y": 0,
    "max_dpd_24m": 20,
    "delinquency_episodes_24m": 1,
    "loans_outstanding_now": 1,
    "loan_amount_outstanding": 50_000,
}
