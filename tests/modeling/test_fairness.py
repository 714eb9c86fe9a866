"""Fairness: groups from the identifiers alone, approval ratios against the four-fifths thresholds, actions."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from creditscore.modeling.fairness import fairness_findings, fairness_table, groups_of, load_fairness_config
from creditscore.records.ids import generate_resident_id

AS_OF = "2024-06-30"
APPROVED = ["AAA", "AA", "A"]  # the policy's household eligible grades


def _people(n: int, seed: int = 1) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    ids, female, ages = [], [], []
    for i in range(n):
        sex = "F" if i % 2 else "M"
        age = 22 + (i * 7) % 50
        born = dt.date(2024 - age, 1 + i % 12, 1 + i % 28)
        ids.append(generate_resident_id(rng, division_code="410882" if i % 3 else "130111", birth_date=born, sex=sex))
        female.append(sex == "F")
        ages.append(age)
    return ids, np.array(female), np.array(ages)


def test_groups_come_from_the_identifier_alone() -> None:
    config = load_fairness_config()
    ids, female, ages = _people(400)
    groups = groups_of(pd.Series(ids), "household", AS_OF, config)
    assert (groups["sex"] == np.where(female, "女", "男")).all()
    assert set(groups["age_band"]) == {"0–29", "30–44", "45–59", "60+"}
    assert (groups.loc[ages < 30, "age_band"] == "0–29").all()
    assert set(groups["county"]) == {"410882", "130111"}
    firms = groups_of(pd.Series(["91410882MA40000000", "bad id"]), "sme", AS_OF, config)
    assert list(firms["county"]) == ["410882", "unknown"]


def test_a_group_approved_much_less_raises_an_alert_with_its_action() -> None:
    config = load_fairness_config()
    ids, female, _ = _people(2000)
    rng = np.random.default_rng(3)
    pd_ = np.where(female, rng.uniform(0.02, 0.12, len(ids)), rng.uniform(0.0, 0.06, len(ids)))
    grades = np.where(pd_ < 0.05, "AA", "非信用户")  # women approved far less often
    default = (rng.random(len(ids)) < pd_).astype(int)
    table = fairness_table(pd.Series(ids), pd_, grades, default, segment="household", as_of=AS_OF,
                           approved_grades=APPROVED, config=config)
    sex = table[table["dimension"] == "sex"].set_index("group")
    assert sex.loc["男", "impact_ratio"] == pytest.approx(1.0)
    assert sex.loc["女", "impact_ratio"] < config.impact_alert
    found = fairness_findings(table, overall_auc=0.7, config=config)
    women = [f for f in found if f.dimension == "sex" and f.check == "impact"]
    assert [f.level for f in women] == ["alert"]
    assert "女" in women[0].message
    assert "PIPL" in women[0].action


def test_equal_treatment_raises_nothing_and_small_groups_are_not_judged() -> None:
    config = load_fairness_config()
    ids, _, _ = _people(600, seed=2)
    rng = np.random.default_rng(5)
    pd_ = rng.uniform(0, 0.1, len(ids))
    grades = np.where(pd_ < 0.06, "A", "非信用户")
    default = (rng.random(len(ids)) < pd_).astype(int)
    table = fairness_table(pd.Series(ids), pd_, grades, default, segment="household", as_of=AS_OF,
                           approved_grades=APPROVED, config=config)
    assert not [f for f in fairness_findings(table, overall_auc=None, config=config) if f.check == "impact"]
    tiny = fairness_table(pd.Series(ids[:30]), pd_[:30], grades[:30], default[:30], segment="household",
                          as_of=AS_OF, approved_grades=APPROVED, config=config)
    assert not tiny["judged"].any()
    assert fairness_findings(tiny, overall_auc=0.9, config=config) == []
