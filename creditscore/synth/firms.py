"""Synthetic enterprises and their public credit records.

Each firm has a latent credit quality that drifts from year to year (AR(1),
ρ = 0.85) around its industry, size and county effects. Every record kind's
frequency and severity depends on that quality through a log-linear rate, so
that public records carry real but noisy information about it. The constants
below are the generating process: they are documented in ``docs/synthetic.md``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditscore.records.ids import generate_uscc
from creditscore.synth.common import (
    DAY,
    days,
    events,
    lognormal_yuan,
    published,
    sigmoid,
    to_datetime,
    year_start,
)

#: GB/T 4754 section, name, share of firms, quality effect, wage-arrears multiplier.
INDUSTRIES: list[tuple[str, str, float, float, float]] = [
    ("A", "农、林、牧、渔业", 0.06, -0.10, 1.0),
    ("C", "制造业", 0.20, 0.00, 1.5),
    ("E", "建筑业", 0.10, -0.25, 5.0),
    ("F", "批发和零售业", 0.30, 0.00, 0.6),
    ("G", "交通运输、仓储和邮政业", 0.06, -0.05, 1.0),
    ("H", "住宿和餐饮业", 0.10, -0.15, 1.2),
    ("I", "信息传输、软件和信息技术服务业", 0.05, 0.15, 0.4),
    ("L", "租赁和商务服务业", 0.06, 0.00, 0.6),
    ("M", "科学研究和技术服务业", 0.03, 0.20, 0.4),
    ("O", "居民服务、修理和其他服务业", 0.04, -0.05, 0.8),
]
#: size class, share, quality effect, employees (low, high), median annual tax (yuan).
SIZES: list[tuple[str, float, float, tuple[int, int], int]] = [
    ("micro", 0.80, -0.10, (2, 20), 40_000),
    ("small", 0.16, 0.10, (20, 100), 400_000),
    ("medium", 0.04, 0.30, (100, 500), 4_000_000),
]
#: USCC organisation type under authority 9: enterprise, individual business, cooperative.
ORG_TYPES = [("1", 0.70), ("2", 0.25), ("3", 0.05)]
PROVINCE_ABBR = {"41": "豫", "13": "冀", "37": "鲁", "51": "川"}
AUTHORITIES = [("市场监督管理局", "市监"), ("生态环境局", "环"), ("应急管理局", "应急"), ("税务局", "税"),
               ("人力资源和社会保障局", "人社"), ("住房和城乡建设局", "住建")]
RHO = 0.85
#: Mean age of the firms alive on any date (years); the population grows at its inverse.
FIRM_MEAN_AGE_YEARS = 6.0


@dataclass
class FirmWorld:
    """Firms, their latent quality by year, and their records (typed, in contract field names)."""

    firms: pd.DataFrame  # one row per firm, with the enterprise contract's fields plus employees
    quality: np.ndarray  # (firms, years) latent quality including industry/size/county effects
    years: np.ndarray
    records: dict[str, pd.DataFrame]


def latent_paths(rng: np.random.Generator, n: int, n_years: int, rho: float = RHO) -> np.ndarray:
    """AR(1) latent quality per subject and year, stationary N(0, 1)."""
    z = np.empty((n, n_years))
    z[:, 0] = rng.standard_normal(n)
    for y in range(1, n_years):
        z[:, y] = rho * z[:, y - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return z


def make_firms(rng: np.random.Generator, ids: random.Random, n: int, years: np.ndarray,
               counties: pd.DataFrame) -> FirmWorld:
    n_years = len(years)
    horizon_end = year_start(np.array([years[-1] + 1]))[0] - DAY

    ind = rng.choice(len(INDUSTRIES), n, p=[x[2] for x in INDUSTRIES])
    size = rng.choice(len(SIZES), n, p=[x[1] for x in SIZES])
    org = rng.choice(len(ORG_TYPES), n, p=[x[1] for x in ORG_TYPES])
    county = rng.integers(0, len(counties), n)
    county_effect = rng.normal(0, 0.15, len(counties))
    lo = np.array([SIZES[s][3][0] for s in size])
    hi = np.array([SIZES[s][3][1] for s in size])
    employees = rng.integers(lo, hi + 1)

    # The number of firms grows by a sixth a year (registered market entities have grown 10–15 % a year), so
    # the ages of the firms alive on any date are exponential with mean 6 years: the same on the first
    # observation date as on the last. (A population that only aged would drift by construction, and a model's
    # monitoring would alert on its own training population.) Firms founded in the horizon start at grade M.
    registered = horizon_end - days((rng.exponential(FIRM_MEAN_AGE_YEARS, n) * 365).astype(int))
    effects = (np.array([INDUSTRIES[i][3] for i in ind]) + np.array([SIZES[s][2] for s in size])
               + county_effect[county])
    quality = latent_paths(rng, n, n_years) + effects[:, None]

    codes: list[str] = []
    seen: set[str] = set()
    for c, o in zip(counties["county_code"].to_numpy()[county], org, strict=True):
        code = generate_uscc(ids, division_code=c, org_type=ORG_TYPES[o][0])
        while code in seen:
            code = generate_uscc(ids, division_code=c, org_type=ORG_TYPES[o][0])
        seen.add(code)
        codes.append(code)
    uscc = np.array(codes)
    county_names = counties["county_name"].to_numpy()[county]
    suffix = np.array(["有限公司", "商行", "专业合作社"])[org]
    words = np.array(list("恒达鑫盛华泰隆兴宏源丰顺诚信和祥瑞德宝安康永昌金利"))
    names = [f"{cn[:2]}{''.join(w)}{INDUSTRIES[i][1][:2].rstrip('、，')}{s}" for cn, w, i, s in
             zip(county_names, rng.choice(words, (n, 2)), ind, suffix, strict=True)]
    firms = pd.DataFrame({
        "uscc": uscc, "name": names, "registered_on": to_datetime(registered),
        "industry": np.array([INDUSTRIES[i][0] for i in ind]),
        "division_code": counties["county_code"].to_numpy()[county],
        "size_class": np.array([SIZES[s][0] for s in size]),
        "registered_capital": (lognormal_yuan(rng, np.array([SIZES[s][4] for s in size]) * 10, 0.8, n)
                               // 10_000 * 10_000 * 100),
        "employees": employees,
    })
    firms.loc[org == 1, "registered_capital"] = pd.NA  # individual businesses often declare none
    firms["registered_capital"] = firms["registered_capital"].astype("Int64")

    ctx = _Ctx(rng, n, years, quality, registered, horizon_end, employees, size, ind, uscc,
               counties["county_code"].to_numpy()[county], county_names)
    records = {
        "tax_grades": _tax_grades(ctx),
        "tax_payments": _tax_payments(ctx),
        "wage_arrears": _wage_arrears(ctx),
        "penalties": _penalties(ctx),
        "contracts": _contracts(ctx),
        "court_listings": _court_listings(ctx),
        "market_listings": _market_listings(ctx),
        "social_insurance_arrears": _si_arrears(ctx),
        "utility_arrears": _utility_arrears(ctx),
    }
    return FirmWorld(firms=firms, quality=quality, years=years, records=records)


@dataclass
class _Ctx:
    rng: np.random.Generator
    n: int
    years: np.ndarray
    q: np.ndarray
    registered: np.ndarray
    end: np.ndarray
    employees: np.ndarray
    size: np.ndarray
    ind: np.ndarray
    uscc: np.ndarray
    county_code: np.ndarray
    county_name: np.ndarray


def _tax_grades(c: _Ctx) -> pd.DataFrame:
    rng, n = c.rng, c.n
    grades = np.full((n, len(c.years)), "", dtype="<U1")
    for y, year in enumerate(c.years):
        year_begin = year_start(np.array([year]))[0]
        founded = c.registered <= year_begin + days(364)
        young = c.registered > year_begin - days(365)  # founded this year or last: newly established (M)
        score = c.q[:, y] + 0.5 * rng.standard_normal(n)
        g = np.where(score < -2.2, "D", np.where(score < -1.35, "C", np.where(score > 0.75, "A", "B")))
        years_operating = (year_begin + days(364) - c.registered) / DAY / 365
        g = np.where((g == "A") & (years_operating < 3), "B", g)
        if y >= 1:
            prev = grades[:, y - 1]
            prev2 = grades[:, y - 2] if y >= 2 else np.full(n, "")
            g = np.where((prev == "D") & (prev2 != "D"), "D", g)  # a direct D stays two years
            g = np.where(((prev == "D") | (prev2 == "D")) & (g == "A"), "B", g)  # …and the third cannot be A
        g = np.where(young, "M", g)
        g = np.where(founded & (rng.random(n) > 0.02), g, "")  # a few firms are not rated in a year
        grades[:, y] = g
    i, y = np.nonzero(grades != "")
    out = pd.DataFrame({"uscc": c.uscc[i], "year": c.years[y], "grade": grades[i, y]})
    event = year_start(c.years[y] + 1) - DAY
    out["published_on"] = to_datetime(published(rng, event, 100, 0.02))  # rated in April
    out = out[out["published_on"] <= pd.Timestamp(c.end)]  # the last year's grades are not out yet
    return out.astype({"year": "Int64"}).reset_index(drop=True)


def _tax_payments(c: _Ctx) -> pd.DataFrame:
    rng, n = c.rng, c.n
    base = np.array([SIZES[s][4] for s in c.size], dtype=float)
    rows = []
    for y, year in enumerate(c.years):
        year_begin = year_start(np.array([year]))[0]
        alive = c.registered <= year_begin + days(300)
        share = np.clip((year_begin + days(365) - c.registered) / DAY / 365, 0, 1)
        amount = base * share * np.exp(0.35 * c.q[:, y] + 0.2 * rng.standard_normal(n))
        no_revenue = rng.random(n) < sigmoid(-3.2 - 0.8 * c.q[:, y])
        amount = np.where(no_revenue, 0, np.round(amount))
        keep = alive & (rng.random(n) > 0.02)  # some years are missing from the feed
        rows.append(pd.DataFrame({"uscc": c.uscc[keep], "year": year, "amount": amount[keep].astype(np.int64) * 100}))
    out = pd.concat(rows, ignore_index=True)
    event = year_start(out["year"].to_numpy() + 1) - DAY
    out["published_on"] = to_datetime(published(rng, event, 151, 0.02))
    out = out[out["published_on"] <= pd.Timestamp(c.end)]
    return out.astype({"year": "Int64", "amount": "Int64"}).reset_index(drop=True)


def _wage_arrears(c: _Ctx) -> pd.DataFrame:
    rng = c.rng
    mult = np.array([INDUSTRIES[i][4] for i in c.ind]) * np.array([1.0, 2.0, 4.0])[c.size]
    ev = events(rng, 0.03 * mult[:, None] * np.exp(-1.1 * c.q), c.years, c.registered)
    i, y, started = ev["i"].to_numpy(), ev["year"].to_numpy() - c.years[0], ev["date"].to_numpy()
    q = c.q[i, y]
    m = len(ev)
    workers = np.maximum(1, rng.poisson(np.maximum(c.employees[i] * 0.4, 1)))
    amount = workers * rng.integers(1, 7, m) * rng.integers(3500, 6500, m)
    resolves = rng.random(m) < sigmoid(1.2 + 1.0 * q)
    resolved = np.where(resolves, started + days(rng.integers(15, 260, m)), np.datetime64("NaT"))
    slow = ~resolves | (resolved > started + days(90))
    black = slow & (rng.random(m) < sigmoid(-1.2 - 1.0 * q))
    blacklisted = np.where(black, started + days(rng.integers(90, 240, m)), np.datetime64("NaT"))
    early = resolves & (rng.random(m) < 0.5)
    corrected = np.maximum(blacklisted, resolved)
    delisted = np.where(black, np.where(early, corrected + days(183), blacklisted + days(3 * 365)),
                        np.datetime64("NaT"))
    out = pd.DataFrame({"uscc": c.uscc[i], "started_on": to_datetime(started),
                        "amount": (amount * 100).astype(np.int64), "workers": workers})
    for name, values in (("resolved_on", resolved), ("blacklisted_on", blacklisted), ("delisted_on", delisted)):
        out[name] = to_datetime(np.where(values <= c.end, values, np.datetime64("NaT")))  # the future is unknown
    out["published_on"] = to_datetime(published(rng, started, 30, 0.05))
    out = out[out["published_on"] <= pd.Timestamp(c.end)]
    return out.astype({"amount": "Int64", "workers": "Int64"}).reset_index(drop=True)


def _penalties(c: _Ctx) -> pd.DataFrame:
    rng = c.rng
    size_mult = np.sqrt(np.array([1.0, 2.0, 4.0])[c.size])
    ev = events(rng, 0.12 * size_mult[:, None] * np.exp(-0.9 * c.q), c.years, c.registered)
    i, y, decided = ev["i"].to_numpy(), ev["year"].to_numpy() - c.years[0], ev["date"].to_numpy()
    q = c.q[i, y]
    m = len(ev)
    u = rng.random(m)
    serious = u < sigmoid(-2.6 - 0.7 * q)
    general = ~serious & (u < sigmoid(-2.6 - 0.7 * q) + 0.40)
    severity = np.where(serious, "serious", np.where(general, "general", "minor"))
    median = np.where(serious, 200_000, np.where(general, 20_000, 2_000))
    amount = lognormal_yuan(rng, median, 0.7, m) // 100 * 100
    no_fine = rng.random(m) < 0.15  # warnings, confiscations, orders to rectify
    auth = rng.integers(0, len(AUTHORITIES), m)
    repaired = np.where((severity != "minor") & (rng.random(m) < 0.35), decided + days(rng.integers(90, 730, m)),
                        np.datetime64("NaT"))
    out = pd.DataFrame({
        "uscc": c.uscc[i],
        "decision_no": [f"{cn[:2]}{AUTHORITIES[a][1]}罚〔{yy}〕{k + 1}号"
                        for cn, a, yy, k in zip(c.county_name[i], auth, ev["year"], range(m), strict=True)],
        "decided_on": to_datetime(decided),
        "authority": [cn + AUTHORITIES[a][0] for cn, a in zip(c.county_name[i], auth, strict=True)],
        "severity": severity,
        "amount": pd.array(np.where(no_fine, 0, amount * 100), dtype="Int64"),
        "repaired_on": to_datetime(np.where(repaired <= c.end, repaired, np.datetime64("NaT"))),
    })
    out.loc[no_fine, "amount"] = pd.NA
    out["published_on"] = to_datetime(published(rng, decided, 5, 0.05))
    return out[out["published_on"] <= pd.Timestamp(c.end)].reset_index(drop=True)


def _contracts(c: _Ctx) -> pd.DataFrame:
    rng = c.rng
    per_year = np.array([1.0, 4.0, 10.0])[c.size]
    ev = events(rng, per_year[:, None] * np.exp(0.1 * c.q), c.years, c.registered)
    i, y, signed = ev["i"].to_numpy(), ev["year"].to_numpy() - c.years[0], ev["date"].to_numpy()
    q = c.q[i, y]
    m = len(ev)
    u = rng.random(m)
    p_breach = sigmoid(-3.3 - 0.9 * q)
    p_dispute = sigmoid(-4.0 - 0.6 * q)
    status = np.where(u < p_breach, "breached", np.where(u < p_breach + p_dispute, "disputed", "fulfilled"))
    due = signed + days(rng.integers(30, 366, m))
    settled = np.where(status == "fulfilled", np.maximum(signed, due - days(rng.integers(0, 21, m))),
                       np.datetime64("NaT"))
    value = lognormal_yuan(rng, np.array([80_000, 500_000, 3_000_000])[c.size[i]], 0.9, m) * 100
    out = pd.DataFrame({
        "uscc": c.uscc[i], "contract_no": [f"HT{yy}{k + 1:07d}" for yy, k in zip(ev["year"], range(m), strict=True)],
        "signed_on": to_datetime(signed), "due_on": to_datetime(due), "value": pd.array(value, dtype="Int64"),
        "status": status, "settled_on": to_datetime(settled),
    })
    out["published_on"] = to_datetime(published(rng, due, 10, 0.03))  # published once the contract ends
    return out[out["published_on"] <= pd.Timestamp(c.end)].reset_index(drop=True)


def court_listings_for(rng: np.random.Generator, ids: np.ndarray, rate: np.ndarray, *, years: np.ndarray,
                       alive_from: np.ndarray, county_code: np.ndarray, county_name: np.ndarray, end: np.ndarray,
                       subject_type: str, first_case: int = 0) -> pd.DataFrame:
    """Court dishonest-debtor listings (失信被执行人) for any kind of subject."""
    ev = events(rng, rate, years, alive_from)
    i, listed = ev["i"].to_numpy(), ev["date"].to_numpy()
    m = len(ev)
    removed = np.where(rng.random(m) < 0.6, listed + days(rng.integers(180, 3 * 365, m)), np.datetime64("NaT"))
    cc = county_code[i]
    out = pd.DataFrame({
        "subject_id": ids[i], "subject_type": subject_type,
        "case_no": [f"（{yy}）{PROVINCE_ABBR.get(code[:2], '豫')}{code[2:]}执{first_case + k + 1}号"
                    for yy, code, k in zip(ev["year"], cc, range(m), strict=True)],
        "court": [f"{name}人民法院" for name in county_name[i]],
        "listed_on": to_datetime(listed),
        "removed_on": to_datetime(np.where(removed <= end, removed, np.datetime64("NaT"))),
    })
    out["published_on"] = to_datetime(published(rng, listed, 3, 0.03))
    return out[out["published_on"] <= pd.Timestamp(end)].reset_index(drop=True)


def _court_listings(c: _Ctx) -> pd.DataFrame:
    return court_listings_for(c.rng, c.uscc, 0.008 * np.exp(-1.4 * c.q), years=c.years, alive_from=c.registered,
                              county_code=c.county_code, county_name=c.county_name, end=c.end,
                              subject_type="enterprise")


def _market_listings(c: _Ctx) -> pd.DataFrame:
    rng = c.rng
    ev = events(rng, 0.04 * np.exp(-1.0 * c.q), c.years, c.registered + days(365))
    i, entered = ev["i"].to_numpy(), ev["date"].to_numpy()
    m = len(ev)
    exits = rng.random(m) < 0.75
    exited = np.where(exits, entered + days(rng.integers(30, 540, m)), np.datetime64("NaT"))
    reasons = np.array(["未依照规定报送年度报告", "通过登记的住所或者经营场所无法联系",
                        "公示企业信息隐瞒真实情况、弄虚作假"])
    abnormal = pd.DataFrame({
        "uscc": c.uscc[i], "list_type": "abnormal", "entered_on": to_datetime(entered),
        "reason": reasons[rng.choice(3, m, p=[0.6, 0.3, 0.1])],
        "exited_on": to_datetime(np.where(exited <= c.end, exited, np.datetime64("NaT"))),
    })
    # Three years in the abnormal list without correction leads to the serious-illegality list.
    stuck = ~exits & (entered + days(3 * 365) <= c.end) & (rng.random(m) < 0.8)
    serious = pd.DataFrame({
        "uscc": c.uscc[i][stuck], "list_type": "serious_illegality",
        "entered_on": to_datetime(entered[stuck] + days(3 * 365)),
        "reason": "被列入经营异常名录届满3年仍未履行相关义务",
        "exited_on": to_datetime(np.full(stuck.sum(), "NaT", dtype="datetime64[D]")),
    })
    out = pd.concat([abnormal, serious], ignore_index=True)
    out["published_on"] = to_datetime(published(rng, out["entered_on"].to_numpy().astype("datetime64[D]"), 3, 0.03))
    return out[out["published_on"] <= pd.Timestamp(c.end)].reset_index(drop=True)


def monthly_arrears(rng: np.random.Generator, ids: np.ndarray, rate: np.ndarray, *, years: np.ndarray,
                    alive_from: np.ndarray, q: np.ndarray, end: np.ndarray, monthly_yuan: np.ndarray,
                    max_months: int, lag: int) -> pd.DataFrame:
    """Spells of monthly arrears (social insurance, utilities): one row per subject and month in arrears."""
    ev = events(rng, rate, years, alive_from)
    i, y, start = ev["i"].to_numpy(), ev["year"].to_numpy() - years[0], ev["date"].to_numpy()
    length = rng.integers(1, max_months + 1, len(ev))
    i, y, start, k = (np.repeat(i, length), np.repeat(y, length), np.repeat(start, length),
                      np.concatenate([np.arange(n) for n in length]) if len(length) else np.array([], int))
    month = (start.astype("datetime64[M]") + k.astype("timedelta64[M]")).astype("datetime64[D]")
    m = len(i)
    pays = rng.random(m) < sigmoid(1.5 + q[i, y])
    paid = np.where(pays, month + days(rng.integers(30, 300, m)), np.datetime64("NaT"))
    out = pd.DataFrame({"subject": ids[i], "month": to_datetime(month),
                        "amount": pd.array(lognormal_yuan(rng, monthly_yuan[i], 0.3, m) * 100, dtype="Int64"),
                        "paid_on": to_datetime(np.where(paid <= end, paid, np.datetime64("NaT")))})
    out["published_on"] = to_datetime(published(rng, month, lag, 0.03))
    out = out[(out["month"] <= pd.Timestamp(end)) & (out["published_on"] <= pd.Timestamp(end))]
    return out.drop_duplicates(["subject", "month"]).reset_index(drop=True)


def _si_arrears(c: _Ctx) -> pd.DataFrame:
    out = monthly_arrears(c.rng, c.uscc, 0.12 * np.exp(-1.2 * c.q), years=c.years, alive_from=c.registered, q=c.q,
                          end=c.end, monthly_yuan=c.employees * 1_100.0, max_months=6, lag=45)
    return out.rename(columns={"subject": "uscc"})


def _utility_arrears(c: _Ctx) -> pd.DataFrame:
    out = monthly_arrears(c.rng, c.uscc, 0.08 * np.exp(-0.9 * c.q), years=c.years, alive_from=c.registered, q=c.q,
                          end=c.end, monthly_yuan=np.array([800.0, 5_000.0, 30_000.0])[c.size], max_months=3, lag=60)
    utility = c.rng.choice(np.array(["water", "electricity", "gas"]), len(out), p=[0.3, 0.55, 0.15])
    out.insert(1, "utility", utility)
    out.insert(1, "subject_type", "enterprise")
    return out.rename(columns={"subject": "subject_id"})
