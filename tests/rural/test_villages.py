"""Credit village and township assessment against a hand computation."""

from __future__ import annotations

import pandas as pd
import pytest

from creditscore.policy import Policy
from creditscore.rural.villages import assess_villages

T = "2024-06-30"


def _households() -> pd.DataFrame:
    rows = [
        ("h1", "410882101201", "东村", "410882101", "王曲镇"), ("h2", "410882101201", "东村", "410882101", "王曲镇"),
        ("h3", "410882101201", "东村", "410882101", "王曲镇"), ("h4", "410882101201", "东村", "410882101", "王曲镇"),
        ("h5", "410882101202", "西村", "410882101", "王曲镇"), ("h6", "410882101202", "西村", "410882101", "王曲镇"),
        ("h7", "130111101201", "南村", "130111101", "冶河镇"), ("h8", "130111101201", "南村", "130111101", "冶河镇"),
        ("h9", "130111101201", "南村", "130111101", "冶河镇"),
        ("h10", "130111101202", "北村", "130111101", "冶河镇"), ("h11", "130111101202", "北村", "130111101", "冶河镇"),
        ("h12", "130111101202", "北村", "130111101", "冶河镇"),
    ]
    return pd.DataFrame(rows, columns=["head_id", "village_code", "village_name", "township_code", "township_name"])


GRADES = pd.Series({"h1": "AAA", "h2": "AA", "h3": "非信用户", "h4": "非信用户", "h5": "A", "h6": "A",
                    "h7": "AAA", "h8": "AAA", "h9": "非信用户", "h10": "AAA", "h11": "AAA", "h12": "AA"})


def _loans() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = pd.to_datetime
    loans = pd.DataFrame({
        "subject_id": ["h1", "h2", "h5", "h6", "h3"],
        "opened_on": d(["2024-01-01", "2024-01-01", "2024-02-01", "2023-03-01", "2020-01-01"]),
        "amount": pd.array([10_000_000, 10_000_000, 30_000_000, 10_000_000, 5_000_000], dtype="Int64"),  # fen
        "default_on": d([None, None, None, "2024-03-01", None]),
        "written_off_on": d([None, None, None, None, None]),
        "closed_on": d([None, None, None, None, "2021-01-01"]),  # h3's loan was repaid long ago
    })
    delinquencies = pd.DataFrame({"subject_id": ["h2", "h1"], "started_on": d(["2024-03-22", "2022-01-01"])})
    return loans, delinquencies


def test_villages_and_townships_match_the_hand_computation(policy: Policy) -> None:
    loans, delinquencies = _loans()
    villages, townships = assess_villages(GRADES, _households(), loans, delinquencies, as_of=T, policy=policy)
    v = villages.set_index("village_name")

    east = v.loc["东村"]  # 2 of 4 credit households; 2 borrowers, h2 late since March
    assert (east["credit_household_share"], east["credit_household_share_met"]) == (0.5, True)
    assert east["on_time_repayment"] == pytest.approx(0.5)
    assert not east["on_time_repayment_met"]
    assert east["on_time_repayment_margin"] == pytest.approx(-0.4)
    assert (east["npl_ratio"], east["npl_ratio_met"]) == (0.0, True)
    assert not east["credit_village"]

    west = v.loc["西村"]  # h6's 100,000 yuan defaulted, of 400,000 outstanding
    assert west["npl_ratio"] == pytest.approx(0.25)
    assert west["npl_ratio_margin"] == pytest.approx(0.03 - 0.25)
    assert (west["on_time_repayment"], west["credit_household_share"]) == (0.5, 1.0)  # h6 in default is late
    assert not west["credit_village"]

    south = v.loc["南村"]  # 栾城区 (130111) asks for 70 % credit households: 2 of 3 misses by 0.033
    assert south["credit_household_share_threshold"] == 0.7
    assert south["credit_household_share_margin"] == pytest.approx(2 / 3 - 0.7)
    assert pd.isna(south["on_time_repayment_met"])  # no borrowers: not applicable, never "met"
    assert pd.isna(south["npl_ratio_met"])
    assert not south["credit_village"]
    assert v.loc["北村", "credit_village"]  # no borrowers either: the criteria that apply are met
    assert bool(v["assessed"].all())  # every listed household was graded

    t = townships.set_index("township_name")
    assert (t.loc["王曲镇", "villages"], t.loc["王曲镇", "credit_villages"]) == (2, 0)
    assert not t.loc["王曲镇", "credit_township"]
    assert t.loc["冶河镇", "credit_village_share"] == 0.5
    assert t.loc["冶河镇", "credit_township"]
    assert t.loc["王曲镇", "on_time_repayment"] == pytest.approx(0.5)  # h1, h5 on time; h2 late, h6 in default


def test_every_household_is_counted_once(policy: Policy) -> None:
    loans, delinquencies = _loans()
    twice = pd.concat([_households(), _households().iloc[:3]])
    villages, _ = assess_villages(GRADES, twice, loans, delinquencies, as_of=T, policy=policy)
    assert villages["households"].sum() == 12


def test_no_verdict_from_too_little_evidence(policy: Policy) -> None:
    """A village of which too few listed households could be graded is not assessed, whatever their grades."""
    loans, delinquencies = _loans()
    listed = pd.Series({"130111101202": 108, "130111101201": 3})  # 北村: 3 of 108 rows graded
    villages, townships = assess_villages(GRADES, _households(), loans, delinquencies, as_of=T, policy=policy,
                                          listed=listed)
    v = villages.set_index("village_name")
    assert (v.loc["北村", "households"], v.loc["北村", "listed"]) == (3, 108)
    assert not v.loc["北村", "assessed"]
    assert not v.loc["北村", "credit_village"]  # all three AAA/AA, but three of 108 say nothing
    assert v.loc["南村", "assessed"]
    t = townships.set_index("township_name")
    assert not t.loc["冶河镇", "assessed"]
    assert not t.loc["冶河镇", "credit_township"]
    from creditscore.rural.workbook import criteria_notes

    notes = criteria_notes(villages).set_axis(villages["village_name"])
    assert "not assessed: 3 of 108 households graded" in notes["北村"]
    assert "不适用" in notes["南村"]
