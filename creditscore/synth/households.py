"""Synthetic rural households: region tree, annual surveys (农户信息采集) and their public records.

A household's latent quality drifts like a firm's (AR(1)), around a village and a
township effect: villages really differ, which is what makes credit-village
assessment meaningful. Each year the household is surveyed in spring; income,
assets, liabilities and the village committee's evaluation follow from the
latent quality plus noise.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditscore.records.ids import generate_resident_id
from creditscore.synth.common import days, to_datetime, year_start
from creditscore.synth.firms import court_listings_for, latent_paths, monthly_arrears
from creditscore.synth.regions import make_regions

SURNAMES = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任")
GIVEN = list("建国华明军平伟强红英秀兰玉芳桂金海春志德文武成立永福庆东新国保全山林水荣丽霞")
LEGACY_SHARE = 0.02  # heads still recorded with a 15-digit number


@dataclass
class HouseholdWorld:
    households: pd.DataFrame  # one row per household (latest facts, identity and place)
    surveys: pd.DataFrame  # the households contract: one row per household and survey year
    quality: np.ndarray  # (households, years)
    years: np.ndarray
    regions: pd.DataFrame
    records: dict[str, pd.DataFrame]


def make_households(rng: np.random.Generator, ids: random.Random, n: int, years: np.ndarray,
                    per_village: int) -> HouseholdWorld:
    n_villages = max(1, round(n / per_village))
    regions = make_regions(rng, n_villages)
    village = rng.integers(0, n_villages, n)
    village_effect = rng.normal(0, 0.35, n_villages)
    township_codes, township = np.unique(regions["township_code"].to_numpy(), return_inverse=True)
    township_effect = rng.normal(0, 0.15, len(township_codes))
    quality = latent_paths(rng, n, len(years)) + (village_effect + township_effect[township])[village][:, None]
    horizon_end = year_start(np.array([years[-1] + 1]))[0] - np.timedelta64(1, "D")
    horizon_start = year_start(years[:1])[0]

    birth_year = rng.integers(1950, 1996, n)
    birth = [dt.date(int(y), int(m), int(d)) for y, m, d in
             zip(birth_year, rng.integers(1, 13, n), rng.integers(1, 29, n), strict=True)]
    sex = np.where(rng.random(n) < 0.85, "M", "F")
    legacy = (rng.random(n) < LEGACY_SHARE) & (birth_year < 1980)
    county = regions["county_code"].to_numpy()[village]
    numbers: list[str] = []
    seen: set[str] = set()
    for c, b, s, old in zip(county, birth, sex, legacy, strict=True):
        number = generate_resident_id(ids, division_code=c, birth_date=b, sex=s, legacy=bool(old))
        while number in seen:
            number = generate_resident_id(ids, division_code=c, birth_date=b, sex=s, legacy=bool(old))
        seen.add(number)
        numbers.append(number)
    head_id = np.array(numbers)
    names = np.char.add(np.char.add(rng.choice(SURNAMES, n), rng.choice(GIVEN, n)),
                        np.where(rng.random(n) < 0.7, rng.choice(GIVEN, n), ""))
    members = np.clip(1 + rng.poisson(2.3, n), 1, 8)
    labourers = np.minimum(members, rng.binomial(members, 0.6))
    land = np.round(np.exp(np.log(5) + 0.6 * rng.standard_normal(n)), 1)
    place = regions.iloc[village].reset_index(drop=True)
    households = pd.concat([pd.DataFrame({"head_id": head_id, "head_name": names}), place], axis=1)
    households["members"] = members
    households["labourers"] = labourers
    households["land_mu"] = land

    surveys = []
    for y, year in enumerate(years):
        q = quality[:, y]
        per_capita = 14_000 * np.exp(0.25 * q + 0.25 * rng.standard_normal(n)) * (1.04 ** (year - years[0]))
        income = np.round(per_capita * members, -2)
        assets = np.round(income * np.exp(np.log(3) + 0.5 * rng.standard_normal(n)), -2)
        owes = rng.random(n) < 0.6
        liabilities = np.where(owes, np.round(income * np.clip(0.6 - 0.5 * q + 0.5 * rng.standard_normal(n), 0, 6),
                                              -2), 0)
        e = q + 0.7 * rng.standard_normal(n)
        evaluation = np.where(e > 1.0, "excellent", np.where(e > 0, "good", np.where(e > -1.2, "fair", "poor")))
        surveyed = year_start(np.full(n, year)) + days(rng.integers(59, 120, n))  # March–April
        frame = households[["head_id", "head_name", "county_code", "county_name", "township_code", "township_name",
                            "village_code", "village_name", "members", "labourers", "land_mu"]].copy()
        frame["annual_income"] = (income * 100).astype(np.int64)
        frame["assets"] = (assets * 100).astype(np.int64)
        frame["liabilities"] = (liabilities * 100).astype(np.int64)
        frame["village_evaluation"] = evaluation
        frame["surveyed_on"] = to_datetime(surveyed)
        surveys.append(frame[rng.random(n) > 0.03])  # a few households missed in a year's survey
    survey_frame = pd.concat(surveys, ignore_index=True)
    survey_frame = survey_frame.astype({"annual_income": "Int64", "assets": "Int64", "liabilities": "Int64",
                                        "members": "Int64", "labourers": "Int64", "land_mu": "Float64",
                                        "village_evaluation": "string"})
    survey_frame.loc[rng.random(len(survey_frame)) < 0.05, "land_mu"] = pd.NA
    survey_frame.loc[rng.random(len(survey_frame)) < 0.10, "village_evaluation"] = pd.NA

    alive = np.full(n, horizon_start)
    county_name = regions["county_name"].to_numpy()[village]
    court = court_listings_for(rng, head_id, 0.004 * np.exp(-1.4 * quality), years=years, alive_from=alive,
                               county_code=county, county_name=county_name, end=horizon_end,
                               subject_type="household", first_case=5_000_000)
    utility = monthly_arrears(rng, head_id, 0.10 * np.exp(-0.9 * quality), years=years, alive_from=alive, q=quality,
                              end=horizon_end, monthly_yuan=np.full(n, 120.0), max_months=3, lag=60)
    utility.insert(1, "utility", rng.choice(np.array(["water", "electricity", "gas"]), len(utility),
                                            p=[0.4, 0.5, 0.1]))
    utility.insert(1, "subject_type", "household")
    utility = utility.rename(columns={"subject": "subject_id"})
    return HouseholdWorld(households=households, surveys=survey_frame, quality=quality, years=years,
                          regions=regions, records={"court_listings": court, "utility_arrears": utility})
