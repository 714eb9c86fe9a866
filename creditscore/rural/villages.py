"""Credit village (信用村) and credit township (信用乡镇) assessment.

From the households' final grades and their loans, as of a date, per village:

* **credit-household share** — households whose final grade is a credit grade (AAA / AA / A);
* **on-time repayment** — borrowers (a loan outstanding at the date) with no arrears episode that
  started in the 12 months before it and no loan in default;
* **NPL ratio** — defaulted, not yet written-off loan amounts over all loan amounts outstanding.

A village is a credit village when it meets every criterion of its region (policy
``rural_assessment``). A township is a credit township when enough of its villages are credit
villages and its households as a whole meet the repayment and NPL criteria. Every criterion is
reported with the value, the threshold, whether it was met and by how much.

No verdict from too little evidence: a village is assessed only when at least ``min_graded_share`` of the
households listed for it were graded (otherwise "not assessed: k of n graded"), and a criterion with no data —
on-time repayment in a village with no borrowers — is *not applicable* (``<criterion>_met`` is missing), never
"met". A township is assessed only when its villages were.
"""

from __future__ import annotations

import pandas as pd

from creditscore.errors import ConfigError
from creditscore.policy import Policy, RuralAssessment

__all__ = ["PLACE", "SUMS", "assess_sums", "assess_villages", "household_positions", "sums_of", "village_sums"]


def _borrowers(households: pd.DataFrame, loans: pd.DataFrame, delinquencies: pd.DataFrame,
               t: pd.Timestamp) -> pd.DataFrame:
    """Per household: borrower?, late in the last 12 months?, amounts outstanding and non-performing (yuan)."""
    live = loans[(loans["opened_on"] <= t) & (loans["closed_on"].isna() | (loans["closed_on"] > t))
                 & (loans["written_off_on"].isna() | (loans["written_off_on"] > t))]
    amount = live["amount"].astype("Float64").astype(float) / 100
    bad = (live["default_on"] <= t).fillna(False)
    per = pd.DataFrame({"outstanding": amount.groupby(live["subject_id"]).sum(),
                        "npl": amount.where(bad.to_numpy(), 0.0).groupby(live["subject_id"]).sum()})
    recent = delinquencies[(delinquencies["started_on"] <= t)
                           & (delinquencies["started_on"] > t - pd.Timedelta(days=365))]
    out = per.reindex(households["head_id"]).fillna(0.0)
    out["borrower"] = out["outstanding"] > 0
    # late: arrears that began in the last 12 months, or a loan in default (not repaying at all)
    out["late"] = (out.index.isin(recent["subject_id"]) | (out["npl"] > 0)) & out["borrower"]
    return out


def _criterion(frame: pd.DataFrame, name: str, value: pd.Series, threshold: pd.Series, at_least: bool) -> None:
    frame[f"{name}"] = value
    frame[f"{name}_threshold"] = threshold
    met = (value >= threshold) if at_least else (value <= threshold)
    # no data (no borrowers: nobody could be late): not applicable — missing, never "met"
    frame[f"{name}_met"] = pd.array(met.where(value.notna()), dtype="boolean")
    frame[f"{name}_margin"] = (value - threshold) if at_least else (threshold - value)


def _holds(frame: pd.DataFrame, *names: str) -> pd.Series:
    """Every applicable criterion met (a criterion that does not apply neither passes nor fails a place)."""
    out = pd.Series(True, index=frame.index)
    for name in names:
        out &= frame[f"{name}_met"].fillna(True).astype(bool)
    return out


def _repayment_criteria(frame: pd.DataFrame, criteria: pd.Series) -> pd.Series:
    """On-time repayment and NPL ratio of a village or township summary; True where both are met."""
    on_time = 1 - frame["late_borrowers"] / frame["borrowers"].where(frame["borrowers"] > 0)
    _criterion(frame, "on_time_repayment", on_time, criteria.map(lambda c: c.on_time_repayment), at_least=True)
    _criterion(frame, "npl_ratio", frame["npl_yuan"] / frame["outstanding_yuan"].where(frame["outstanding_yuan"] > 0),
               criteria.map(lambda c: c.npl_ratio), at_least=False)
    return _holds(frame, "on_time_repayment", "npl_ratio")


SUMS = ["households", "credit_households", "borrowers", "late_borrowers", "outstanding_yuan", "npl_yuan"]
PLACE = ["township_code", "township_name", "village_code", "village_name"]


def household_positions(households: pd.DataFrame, grades: pd.Series, loans: pd.DataFrame,
                        delinquencies: pd.DataFrame, *, as_of: object, policy: Policy) -> pd.DataFrame:
    """Per household (index head_id): its place, whether it is a credit household, and its loan position
    (borrower, late, outstanding and non-performing yuan) as of the date — what its village's sums count."""
    rules = _rules(policy)
    hh = households.drop_duplicates("head_id").set_index("head_id")[PLACE].copy()
    hh["credit"] = grades.reindex(hh.index).isin(rules.credit_grades).to_numpy()
    return hh.join(_borrowers(hh.reset_index(), loans, delinquencies, pd.Timestamp(as_of)))


def sums_of(positions: pd.DataFrame) -> pd.DataFrame:
    """Per village, the counts and amounts its assessment is made of (:data:`SUMS`), from households' positions.

    They add up: the sums of two sets of a village's households are the sums of the whole, so a population graded
    in partitions is assessed from its partitions' sums (``creditscore grade-all``) exactly as in one piece.
    """
    g = positions.groupby(PLACE, sort=True)
    return pd.DataFrame({
        "households": g.size(), "credit_households": g["credit"].sum(), "borrowers": g["borrower"].sum(),
        "late_borrowers": g["late"].sum(), "outstanding_yuan": g["outstanding"].sum(),
        "npl_yuan": g["npl"].sum()}).reset_index()


def village_sums(grades: pd.Series, households: pd.DataFrame, loans: pd.DataFrame, delinquencies: pd.DataFrame,
                 *, as_of: object, policy: Policy) -> pd.DataFrame:
    """:func:`sums_of` the households' :func:`household_positions`."""
    return sums_of(household_positions(households, grades, loans, delinquencies, as_of=as_of, policy=policy))


def _rules(policy: Policy) -> RuralAssessment:
    if policy.rural_assessment is None:
        raise ConfigError("the policy has no rural_assessment section: villages cannot be assessed")
    return policy.rural_assessment


def assess_villages(grades: pd.Series, households: pd.DataFrame, loans: pd.DataFrame,
                    delinquencies: pd.DataFrame, *, as_of: object, policy: Policy,
                    listed: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(villages, townships) assessment tables.

    Parameters
    ----------
    grades
        Final grade per household head (index: head_id).
    households
        One row per household: head_id, village_code, village_name, township_code, township_name.
    loans, delinquencies
        The households' loan records (store or generator frames).
    listed
        Households listed per village code (a file's rows, graded or not); default: the graded households
        themselves — every listed household was graded.
    """
    sums = village_sums(grades, households, loans, delinquencies, as_of=as_of, policy=policy)
    return assess_sums(sums, policy=policy, listed=listed)


def assess_sums(sums: pd.DataFrame, *, policy: Policy,
                listed: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(villages, townships) from per-village :data:`SUMS` — partial sums of one village are added first."""
    rules = _rules(policy)
    villages = sums.groupby(PLACE, sort=True)[SUMS].sum().reset_index()

    def summarise(keys: list[str]) -> pd.DataFrame:
        return villages.groupby(keys, sort=True)[SUMS].sum().reset_index()

    counted = villages["village_code"].astype(str).map(listed) if listed is not None else None
    villages["listed"] = villages["households"] if counted is None else \
        counted.fillna(villages["households"]).clip(lower=villages["households"]).astype(int)
    villages["graded_share"] = villages["households"] / villages["listed"]
    villages["assessed"] = villages["graded_share"] >= rules.min_graded_share
    criteria = villages["village_code"].map(lambda c: rules.criteria_for(str(c)))
    _criterion(villages, "credit_household_share", villages["credit_households"] / villages["households"],
               criteria.map(lambda c: c.credit_household_share), at_least=True)
    villages["credit_village"] = (_repayment_criteria(villages, criteria)
                                  & _holds(villages, "credit_household_share") & villages["assessed"])

    townships = summarise(["township_code", "township_name"])
    per_township = villages.groupby("township_code").agg(villages=("village_code", "size"),
                                                         credit_villages=("credit_village", "sum"),
                                                         assessed_villages=("assessed", "sum"),
                                                         listed=("listed", "sum"))
    for column in per_township.columns:
        townships[column] = townships["township_code"].map(per_township[column])
    townships["graded_share"] = townships["households"] / townships["listed"]
    townships["assessed"] = (townships["assessed_villages"] == townships["villages"]) & \
        (townships["graded_share"] >= rules.min_graded_share)
    criteria = townships["township_code"].map(lambda c: rules.criteria_for(str(c)))
    _criterion(townships, "credit_village_share", townships["credit_villages"] / townships["villages"],
               criteria.map(lambda c: c.credit_village_share), at_least=True)
    townships["credit_township"] = (_repayment_criteria(townships, criteria)
                                    & _holds(townships, "credit_village_share") & townships["assessed"])
    return villages, townships
