"""A synthetic population with known ground truth: firms, households, villages and their records.

There is no real credit data we may ship. This generator makes a population
realistic enough to build, test, demonstrate and benchmark on, and honest
enough to measure models against the truth: :meth:`Population.true_pd` gives
every subject's true 12-month PD at any date, so the *oracle* AUC and a model's
calibration can be computed. The generating process is documented in
``docs/synthetic.md`` and in the docstrings of :mod:`creditscore.synth.firms`,
:mod:`creditscore.synth.households` and :mod:`creditscore.synth.outcomes`.

Same seed, same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.errors import InvalidValue
from creditscore.records.subjects import Segment
from creditscore.synth.firms import make_firms
from creditscore.synth.households import make_households
from creditscore.synth.outcomes import (
    HH_BANKS,
    SME_BANKS,
    draw_window,
    empty_book,
    household_logit,
    observation_dates,
    sigmoid,
    sme_logit,
)

__all__ = ["Population", "SynthConfig", "generate"]


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. The defaults are the demo population: a few thousand of each, in seconds."""

    seed: int = 20240630
    n_firms: int = 3_000
    n_households: int = 4_000
    #: Records begin in ``start_year``; banks lend (and defaults are drawn) from 30 June of ``first_loan_year``.
    #: The years between are history: a subject's indicators on the first observation date look back three
    #: years (a tax-grade trend needs three ratings, a growth rate two years of payments) as on the last one,
    #: so a model's training population and today's are alike and monitoring sees no drift of our own making.
    start_year: int = 2016
    first_loan_year: int = 2020
    end_year: int = 2025
    households_per_village: int = 120
    #: Share of records that a department sends again in a later file (duplicates across files).
    duplicate_share: float = 0.01
    #: Share of rows corrupted on the way (bad check character, impossible date): ingest must reject them.
    corrupt_share: float = 0.001
    #: Share of penalties, court listings and wage arrears that the subject objects to.
    objection_share: float = 0.005


@dataclass
class Population:
    """The generated world: typed record tables (contract field names) plus the hidden truth."""

    config: SynthConfig
    tables: dict[str, pd.DataFrame]
    firm_quality: np.ndarray = field(repr=False)  # rows in the order of tables["enterprises"]
    household_quality: np.ndarray = field(repr=False)  # rows in the order of ``households``
    households: pd.DataFrame = field(repr=False)  # one row per household: identity, place, size
    regions: pd.DataFrame = field(repr=False)

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.config.start_year, self.config.end_year + 1)

    @property
    def horizon_end(self) -> pd.Timestamp:
        return pd.Timestamp(self.config.end_year, 12, 31)

    def observation_dates(self) -> list[pd.Timestamp]:
        """Dates (30 June) at which defaults over the next 12 months were drawn from the true PD."""
        return observation_dates(self.years, first=self.config.first_loan_year)

    def _records(self, segment: str) -> dict[str, pd.DataFrame]:
        kind = Segment.of(segment).subject_type.value
        out = {}
        for name, frame in self.tables.items():
            if "subject_type" in frame:
                out[name] = frame[frame["subject_type"] == kind]
            else:
                out[name] = frame
        return out

    def true_pd(self, as_of: object, segment: str = "sme") -> pd.DataFrame:
        """Every subject's true 12-month PD at ``as_of``: columns ``subject_id`` and ``pd``.

        Exact generating probabilities at the observation dates; at other dates the
        same function of what was known then.
        """
        t = pd.Timestamp(as_of)
        if segment == "sme":
            logit = sme_logit(self.tables["enterprises"], self._records("sme"), quality=self.firm_quality,
                              years=self.years, t=t)
            ids = self.tables["enterprises"]["uscc"]
        elif segment == "household":
            logit = household_logit(self.households, self.tables["households"], self._records("household"),
                                    quality=self.household_quality, years=self.years, t=t)
            ids = self.households["head_id"]
        else:
            raise InvalidValue(f"segment must be 'sme' or 'household', got {segment!r}")
        return pd.DataFrame({"subject_id": ids.to_numpy(), "pd": sigmoid(logit)})

    def outcomes(self, as_of: object, segment: str = "sme") -> pd.DataFrame:
        """Subjects with a loan outstanding at ``as_of`` and whether they defaulted in the next 12 months.

        The label definition the product uses: default (90+ days past due) on a loan
        outstanding at the date, within 365 days after it.
        """
        t = pd.Timestamp(as_of)
        loans = self._records(segment)["loans"]
        live = loans[(loans["opened_on"] <= t) & (loans["closed_on"].isna() | (loans["closed_on"] > t))
                     & (loans["default_on"].isna() | (loans["default_on"] > t))]
        bad = (live["default_on"] > t) & (live["default_on"] <= t + pd.Timedelta(days=365))
        return (bad.groupby(live["subject_id"]).any().rename("default").astype(int).reset_index())

    def write_files(self, folder: str | Path, *, fmt: str = "csv",
                    chinese_headers: bool = True) -> dict[str, list[Path]]:
        """Write the feeds as departments would send them (see :mod:`creditscore.synth.feeds`)."""
        from creditscore.synth.feeds import write_feeds

        return write_feeds(self, Path(folder), fmt=fmt, chinese_headers=chinese_headers)


def generate(config: SynthConfig | None = None) -> Population:
    """Generate a population deterministically from ``config.seed``."""
    config = config or SynthConfig()
    rng = np.random.default_rng(config.seed)
    ids = random.Random(config.seed)
    if not config.start_year < config.first_loan_year <= config.end_year - 1:
        raise InvalidValue(f"years: need start_year < first_loan_year < end_year, got {config.start_year}, "
                           f"{config.first_loan_year}, {config.end_year} (the book needs a year of history before "
                           "it and a year of outcomes after its first date)")
    years = np.arange(config.start_year, config.end_year + 1)
    end = pd.Timestamp(config.end_year, 12, 31)

    firms = make_firms(rng, ids, config.n_firms, years, _county_table(rng, config))
    homes = make_households(rng, ids, config.n_households, years, config.households_per_village)

    sme_book, hh_book = empty_book(), empty_book()
    sme_rec = dict(firms.records, loans=sme_book.loans, delinquencies=sme_book.delinquencies)
    hh_rec = dict(homes.records, loans=hh_book.loans, delinquencies=hh_book.delinquencies)
    size_index = firms.firms["size_class"].map({"micro": 0, "small": 1, "medium": 2}).to_numpy()
    households = homes.households
    for t in observation_dates(years, first=config.first_loan_year):
        y = t.year - years[0]
        # SMEs: better and bigger firms borrow more often (banks select), so the book is not the population.
        logit = sme_logit(firms.firms, sme_rec, quality=firms.quality, years=years, t=t)
        alive = (firms.firms["registered_on"] <= t - pd.Timedelta(days=180)).to_numpy()
        sme_book = draw_window(rng, t, sme_book, ids=firms.firms["uscc"].to_numpy(), logit=logit,
                               borrow_p=sigmoid(-0.6 + 0.4 * firms.quality[:, y] + 0.5 * size_index), eligible=alive,
                               amount_median=np.array([200_000, 1_000_000, 5_000_000])[size_index], banks=SME_BANKS,
                               terms=([12, 24, 36], [0.6, 0.25, 0.15]), end=end, prefix="SME",
                               subject_type="enterprise")
        sme_rec.update(loans=sme_book.loans, delinquencies=sme_book.delinquencies)
        # Households: most rural credit-cooperative loans are small and for one or two years.
        logit = household_logit(households, homes.surveys, hh_rec, quality=homes.quality, years=years, t=t)
        hh_book = draw_window(rng, t, hh_book, ids=households["head_id"].to_numpy(), logit=logit,
                              borrow_p=sigmoid(-0.7 + 0.2 * homes.quality[:, y]),
                              eligible=np.ones(len(households), bool), amount_median=np.full(len(households), 50_000.0),
                              banks=HH_BANKS, terms=([12, 24], [0.7, 0.3]), end=end, prefix="NH",
                              subject_type="household")
        hh_rec.update(loans=hh_book.loans, delinquencies=hh_book.delinquencies)

    tables: dict[str, pd.DataFrame] = {
        "enterprises": firms.firms.drop(columns=["employees"]),
        "households": homes.surveys,
    }
    for name in ("tax_grades", "tax_payments", "wage_arrears", "penalties", "contracts", "market_listings",
                 "social_insurance_arrears"):
        tables[name] = sme_rec[name]
    for name in ("court_listings", "utility_arrears", "loans", "delinquencies"):
        tables[name] = pd.concat([sme_rec[name], hh_rec[name]], ignore_index=True)
    return Population(config=config, tables=tables, firm_quality=firms.quality, household_quality=homes.quality,
                      households=homes.households, regions=homes.regions)


def _county_table(rng: np.random.Generator, config: SynthConfig) -> pd.DataFrame:
    from creditscore.synth.regions import COUNTIES

    n = int(np.clip(round(config.n_households / config.households_per_village / 200), 1, len(COUNTIES)))
    return pd.DataFrame(COUNTIES[:n], columns=["county_code", "county_name"])
