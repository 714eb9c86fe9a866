"""Loans, defaults and the true probability of default.

The true 12-month PD of a subject at date *t* is a documented logistic function
of (a) what its public record showed at *t* — computed here from the generated
records, with the same point-in-time rule the product must follow — and (b) a
small weight on its latent quality, which no model can see. Defaults are drawn
from it once a year, for loans outstanding on each observation date
(30 June), so the PD at those dates is *exactly* the generating probability.

SME:       logit PD = α + γ(year) − 0.35·q + 1.1·court + 1.0·wage_blacklist + 0.3·min(wage_cases_12m, 3)
                     + tax_grade_effect + 0.3·min(penalties_24m, 3) + 0.7·abnormal + 0.9·serious_illegality
                     + 0.1·min(si_arrears_months_12m, 12) + 1.0·contract_breach_share_24m
                     + 0.9·past_default + 0.7·dpd30_24m − 0.25·(log10 taxes paid − 4.5) (+0.2 if unknown)
                     + 0.4·(firm younger than 2 years)
household: logit PD = α + γ(year) − 0.35·q + 1.1·court + 0.9·past_default + 0.7·dpd30_24m
                     − 0.6·ln(income per head / 15,000) + 0.5·min(debt / income, 3) + evaluation_effect
                     + 0.25·min(utility_arrears_months_12m, 3) + 0.4·(no labourer)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditscore.synth.common import days, sigmoid, to_datetime

OBSERVATION_MONTH_DAY = (6, 30)

SME_ALPHA = -4.35
HH_ALPHA = -4.35
#: Macro effect by the observation year: the cycle that makes out-of-time evaluation mean something.
YEAR_EFFECT = {2019: 0.0, 2020: 0.35, 2021: -0.05, 2022: 0.25, 2023: -0.15, 2024: 0.10, 2025: 0.0, 2026: 0.0}
TAX_GRADE_EFFECT = {"A": -0.5, "B": 0.0, "M": 0.3, "C": 0.5, "D": 0.9, "": 0.4}
EVALUATION_EFFECT = {"excellent": -0.6, "good": -0.2, "fair": 0.2, "poor": 0.8, "": 0.2}
LATENT_WEIGHT = 0.35


def observation_dates(years: np.ndarray, *, first: int | None = None) -> list[pd.Timestamp]:
    """30 June of each year from ``first`` (default: the second year) whose following 12 months lie inside the
    horizon."""
    m, d = OBSERVATION_MONTH_DAY
    first = int(years[1]) if first is None else first
    return [pd.Timestamp(int(y), m, d) for y in years if int(y) >= first and pd.Timestamp(int(y) + 1, m, d)
            <= pd.Timestamp(int(years[-1]), 12, 31)]


def _known(frame: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    return frame[frame["published_on"] <= t] if "published_on" in frame else frame


def _count(frame: pd.DataFrame, key: str, index: pd.Index) -> np.ndarray:
    return frame.groupby(key).size().reindex(index, fill_value=0).to_numpy()


def _active(frame: pd.DataFrame, start: str, end: str, t: pd.Timestamp) -> pd.DataFrame:
    return frame[(frame[start] <= t) & (frame[end].isna() | (frame[end] > t))]


def _latent(quality: np.ndarray, years: np.ndarray, t: pd.Timestamp) -> np.ndarray:
    return quality[:, int(np.clip(t.year - years[0], 0, len(years) - 1))]


def loan_history(loans: pd.DataFrame, delinquencies: pd.DataFrame, key: pd.Index, t: pd.Timestamp
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Past default (by *t*) and a delinquency of 30+ days known at *t* within 24 months."""
    past = loans[loans["default_on"] <= t]
    past_default = key.isin(past["subject_id"])
    d = delinquencies[(delinquencies["started_on"] <= t) & (delinquencies["started_on"] > t - pd.Timedelta(days=730))]
    known_dpd = np.minimum(d["days_past_due"].to_numpy(dtype=float),
                           ((t - d["started_on"]) / pd.Timedelta(days=1)).to_numpy())
    dpd30 = key.isin(d.loc[known_dpd >= 30, "subject_id"])
    return past_default.astype(float), dpd30.astype(float)


def sme_logit(firms: pd.DataFrame, records: dict[str, pd.DataFrame], *, quality: np.ndarray, years: np.ndarray,
              t: pd.Timestamp) -> np.ndarray:
    """The SME true-PD logit at *t* for every firm (see the module docstring)."""
    key = pd.Index(firms["uscc"])
    r = {k: _known(v, t) for k, v in records.items()}
    court = key.isin(_active(r["court_listings"], "listed_on", "removed_on", t)["subject_id"])
    wage = r["wage_arrears"]
    blacklisted = key.isin(_active(wage[wage["blacklisted_on"].notna()], "blacklisted_on", "delisted_on", t)["uscc"])
    cases = _count(wage[wage["started_on"] > t - pd.Timedelta(days=365)], "uscc", key)
    grades = r["tax_grades"].sort_values("year").groupby("uscc")["grade"].last()
    grade_effect = grades.reindex(key).fillna("").map(TAX_GRADE_EFFECT).to_numpy(dtype=float)
    pen = r["penalties"]
    pen = pen[(pen["severity"] != "minor") & (pen["decided_on"] > t - pd.Timedelta(days=730))
              & (pen["repaired_on"].isna() | (pen["repaired_on"] > t))]
    penalties = _count(pen, "uscc", key)
    lists = _active(r["market_listings"], "entered_on", "exited_on", t)
    abnormal = key.isin(lists.loc[lists["list_type"] == "abnormal", "uscc"])
    serious = key.isin(lists.loc[lists["list_type"] == "serious_illegality", "uscc"])
    si = r["social_insurance_arrears"]
    si_months = _count(si[si["month"] > t - pd.Timedelta(days=365)], "uscc", key)
    con = r["contracts"]
    con = con[con["published_on"] > t - pd.Timedelta(days=730)]
    bad = con["status"].isin(["breached", "disputed"]).groupby(con["uscc"]).mean()
    breach_share = bad.reindex(key, fill_value=0.0).to_numpy()
    tax = r["tax_payments"].sort_values("year").groupby("uscc")["amount"].last().reindex(key)
    tax_known = tax.notna().to_numpy()
    log_tax = np.log10(tax.fillna(0).to_numpy(dtype=float) / 100 + 1)
    past_default, dpd30 = loan_history(records["loans"], records["delinquencies"], key, t)
    young = ((t - firms["registered_on"]) < pd.Timedelta(days=730)).to_numpy()
    return (SME_ALPHA + YEAR_EFFECT.get(t.year, 0.0) - LATENT_WEIGHT * _latent(quality, years, t)
            + 1.1 * court + 1.0 * blacklisted + 0.3 * np.minimum(cases, 3) + grade_effect
            + 0.3 * np.minimum(penalties, 3) + 0.7 * abnormal + 0.9 * serious + 0.1 * np.minimum(si_months, 12)
            + 1.0 * breach_share + 0.9 * past_default + 0.7 * dpd30
            + np.where(tax_known, -0.25 * (log_tax - 4.5), 0.2) + 0.4 * young)


def household_logit(households: pd.DataFrame, surveys: pd.DataFrame, records: dict[str, pd.DataFrame], *,
                    quality: np.ndarray, years: np.ndarray, t: pd.Timestamp) -> np.ndarray:
    """The household true-PD logit at *t* for every household (see the module docstring)."""
    key = pd.Index(households["head_id"])
    r = {k: _known(v, t) for k, v in records.items()}
    court = key.isin(_active(r["court_listings"], "listed_on", "removed_on", t)["subject_id"])
    latest = surveys[surveys["surveyed_on"] <= t].sort_values("surveyed_on").groupby("head_id").last().reindex(key)
    members = latest["members"].astype("Float64").fillna(pd.Series(households["members"].to_numpy(), index=key))
    members = members.to_numpy(dtype=float)
    income = latest["annual_income"].astype("Float64").to_numpy(dtype=float, na_value=np.nan) / 100
    per_head = np.where(np.isnan(income), 15_000, income / np.maximum(members, 1))
    debt = latest["liabilities"].astype("Float64").to_numpy(dtype=float, na_value=np.nan) / 100
    dti = np.where(np.isnan(debt) | np.isnan(income), 0.5, debt / np.maximum(income, 1))
    evaluation = latest["village_evaluation"].astype("string").fillna("").map(EVALUATION_EFFECT).to_numpy(float)
    labourers = latest["labourers"].astype("Float64").fillna(1).to_numpy(dtype=float)
    util = r["utility_arrears"]
    util_months = _count(util[util["month"] > t - pd.Timedelta(days=365)], "subject_id", key)
    past_default, dpd30 = loan_history(records["loans"], records["delinquencies"], key, t)
    return (HH_ALPHA + YEAR_EFFECT.get(t.year, 0.0) - LATENT_WEIGHT * _latent(quality, years, t)
            + 1.1 * court + 0.9 * past_default + 0.7 * dpd30 - 0.6 * np.log(np.maximum(per_head, 500) / 15_000)
            + 0.5 * np.minimum(dti, 3) + evaluation + 0.25 * np.minimum(util_months, 3) + 0.4 * (labourers == 0))


@dataclass
class LoanBook:
    loans: pd.DataFrame
    delinquencies: pd.DataFrame


SME_BANKS = ["中国农业银行", "中国建设银行", "中国工商银行", "中国邮政储蓄银行", "农村商业银行", "村镇银行"]
HH_BANKS = ["农村信用合作联社", "农村商业银行", "中国邮政储蓄银行"]


def _outcome(rng: np.random.Generator, t64: np.datetime64, end64: np.datetime64, *, ids: np.ndarray,
             loan_no: np.ndarray, logit: np.ndarray, subject_type: str
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Draw the next 12 months of exposed loans: default (with the true PD) or not, and arrears episodes."""
    m = len(ids)
    defaults = rng.random(m) < sigmoid(logit)
    default_on = np.where(defaults, t64 + days(rng.integers(91, 366, m)), np.datetime64("NaT"))
    written_off = np.where(defaults & (rng.random(m) < 0.4), default_on + days(rng.integers(180, 541, m)),
                           np.datetime64("NaT"))
    # Defaults reach 90 days past due on default_on; a share of the others are late for a while and cure.
    late = ~defaults & (rng.random(m) < sigmoid(logit + 1.6))
    started = np.where(defaults, default_on - days(90), t64 + days(rng.integers(1, 300, m)))
    dpd = np.where(defaults, 90 + rng.integers(0, 200, m), rng.integers(5, 76, m))
    has = (defaults | late) & (started <= end64)
    dpd = np.minimum(dpd, (end64 - started) // np.timedelta64(1, "D"))
    cured = np.where(late, started + days(dpd), np.datetime64("NaT"))
    episodes = pd.DataFrame({
        "subject_id": ids[has], "subject_type": subject_type, "loan_no": loan_no[has],
        "started_on": to_datetime(started[has]), "days_past_due": pd.array(np.maximum(dpd[has], 1), dtype="Int64"),
        "cured_on": to_datetime(np.where(cured[has] <= end64, cured[has], np.datetime64("NaT"))),
    })
    episodes["published_on"] = episodes["started_on"]
    clip = lambda a: np.where(a <= end64, a, np.datetime64("NaT"))  # noqa: E731 - the future is unknown
    return defaults, clip(default_on), clip(written_off), episodes


def outstanding(loans: pd.DataFrame, t: pd.Timestamp) -> np.ndarray:
    """Loans outstanding at *t*: opened, not yet closed, not yet defaulted."""
    return ((loans["opened_on"] <= t) & (loans["closed_on"].isna() | (loans["closed_on"] > t))
            & (loans["default_on"].isna() | (loans["default_on"] > t))).to_numpy()


def draw_window(rng: np.random.Generator, t: pd.Timestamp, book: LoanBook, *, ids: np.ndarray, logit: np.ndarray,
                borrow_p: np.ndarray, eligible: np.ndarray, amount_median: np.ndarray, banks: list[str],
                terms: tuple[list[int], list[float]], end: pd.Timestamp, prefix: str, subject_type: str) -> LoanBook:
    """One observation window: every subject with a loan outstanding at *t* (an earlier one, or a new one
    drawn now) is exposed once, and defaults within 12 months with its true PD at *t*."""
    t64, end64 = np.datetime64(t.date(), "D"), np.datetime64(end.date(), "D")
    loans = book.loans.copy()
    live = outstanding(loans, t)
    pos = pd.Index(ids).get_indexer(loans.loc[live, "subject_id"])
    d, default_on, written_off, old_episodes = _outcome(
        rng, t64, end64, ids=ids[pos], loan_no=loans.loc[live, "loan_no"].to_numpy(), logit=logit[pos],
        subject_type=subject_type)
    rows = np.flatnonzero(live)[d]
    loans.loc[loans.index[rows], "default_on"] = pd.to_datetime(default_on[d])
    loans.loc[loans.index[rows], "written_off_on"] = pd.to_datetime(written_off[d])
    loans.loc[loans.index[rows], "closed_on"] = pd.NaT

    has_loan = np.zeros(len(ids), bool)
    has_loan[pos] = True
    take = eligible & ~has_loan & (rng.random(len(ids)) < borrow_p)
    idx = np.flatnonzero(take)
    m = len(idx)
    opened = t64 - days(rng.integers(0, 181, m))
    term = rng.choice(terms[0], m, p=terms[1])
    amount = np.round(amount_median[idx] * np.exp(0.5 * rng.standard_normal(m)), -3).astype(np.int64) * 100
    loan_no = np.array([f"{prefix}{t.year}{k:07d}" for k in range(m)])
    d, default_on, written_off, new_episodes = _outcome(rng, t64, end64, ids=ids[idx], loan_no=loan_no,
                                                        logit=logit[idx], subject_type=subject_type)
    maturity = (opened.astype("datetime64[M]") + term.astype("timedelta64[M]")).astype("datetime64[D]")
    closed = np.where(~d & (maturity <= end64), maturity, np.datetime64("NaT"))
    new = pd.DataFrame({
        "subject_id": ids[idx], "subject_type": subject_type, "loan_no": loan_no,
        "bank": np.array(banks)[rng.integers(0, len(banks), m)], "opened_on": to_datetime(opened),
        "amount": pd.array(amount, dtype="Int64"), "term_months": pd.array(term, dtype="Int64"),
        "default_on": to_datetime(default_on), "written_off_on": to_datetime(written_off),
        "closed_on": to_datetime(closed),
    })
    new["published_on"] = new["opened_on"]
    return LoanBook(pd.concat([loans, new], ignore_index=True),
                    pd.concat([book.delinquencies, old_episodes, new_episodes], ignore_index=True))


def empty_book() -> LoanBook:
    date = pd.Series([], dtype="datetime64[s]")
    loans = pd.DataFrame({"subject_id": pd.Series([], dtype=object), "subject_type": pd.Series([], dtype=object),
                          "loan_no": pd.Series([], dtype=object), "bank": pd.Series([], dtype=object),
                          "opened_on": date, "amount": pd.array([], dtype="Int64"),
                          "term_months": pd.array([], dtype="Int64"), "default_on": date, "written_off_on": date,
                          "closed_on": date, "published_on": date})
    episodes = pd.DataFrame({"subject_id": pd.Series([], dtype=object), "subject_type": pd.Series([], dtype=object),
                             "loan_no": pd.Series([], dtype=object), "started_on": date,
                             "days_past_due": pd.array([], dtype="Int64"), "cured_on": date, "published_on": date})
    return LoanBook(loans, episodes)
