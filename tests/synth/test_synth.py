"""The synthetic population: determinism, valid identifiers, the truths it promises, the mess of real feeds."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.records.ids import validate_resident_id, validate_uscc
from creditscore.store import Store
from creditscore.synth import Population, SynthConfig, generate
from creditscore.synth.feeds import load_feeds

SMALL = SynthConfig(seed=11, n_firms=400, n_households=500)


@pytest.fixture(scope="module")
def population() -> Population:
    """Large enough for the directional truths to be statistically clear, small enough for seconds."""
    return generate(SynthConfig(seed=5, n_firms=12_000, n_households=12_000))


def _pooled(population: Population, segment: str) -> pd.DataFrame:
    frames = []
    for t in population.observation_dates():
        o = population.outcomes(t, segment).merge(population.true_pd(t, segment), on="subject_id")
        frames.append(o.assign(as_of=t))
    return pd.concat(frames, ignore_index=True)


def test_same_seed_same_bytes_different_seed_different_population(tmp_path: Path) -> None:
    a = generate(SMALL).write_files(tmp_path / "a")
    b = generate(SMALL).write_files(tmp_path / "b")
    for kind, paths in a.items():
        for pa, pb in zip(paths, b[kind], strict=True):
            assert filecmp.cmp(pa, pb, shallow=False), pa.name
    other = generate(SynthConfig(seed=12, n_firms=400, n_households=500))
    assert not set(other.tables["enterprises"]["uscc"]) & set(generate(SMALL).tables["enterprises"]["uscc"])


def test_every_generated_identifier_is_valid(population: Population) -> None:
    usccs = population.tables["enterprises"]["uscc"]
    assert usccs.is_unique
    assert all(validate_uscc(c) == c for c in usccs)
    assert set(usccs.str[:2]) <= {"91", "92", "93"}
    heads = population.households["head_id"]
    assert heads.is_unique
    assert all(validate_resident_id(h) == h for h in heads)
    assert (heads.str.len() == 15).sum() > 0, "a few old households keep 15-digit numbers"
    villages = population.households
    assert (villages["village_code"].str.len() == 12).all()
    assert (villages["village_code"].str[:9] == villages["township_code"]).all()
    assert (villages["township_code"].str[:6] == villages["county_code"]).all()


def test_firm_mix_is_mostly_micro(population: Population) -> None:
    sizes = population.tables["enterprises"]["size_class"].value_counts(normalize=True)
    assert 0.7 < sizes["micro"] < 0.9
    assert sizes["medium"] < sizes["small"]


def test_tax_grade_shares_and_new_firms_start_at_m(population: Population) -> None:
    grades = population.tables["tax_grades"]
    shares = grades["grade"].value_counts(normalize=True)
    assert 0.10 < shares["A"] < 0.30
    assert shares["B"] > 0.4
    assert 0.01 < shares["D"] < 0.08
    firms = population.tables["enterprises"].set_index("uscc")
    first = grades.sort_values("year").groupby("uscc").first()
    founded = firms.loc[first.index, "registered_on"].dt.year
    new = founded >= population.config.start_year
    assert (first.loc[new[new].index, "grade"] == "M").mean() > 0.95


def test_default_rates_in_realistic_ranges_and_vary_by_year(population: Population) -> None:
    for segment, (lo, hi) in {"sme": (0.02, 0.08), "household": (0.01, 0.05)}.items():
        rates = [population.outcomes(t, segment)["default"].mean() for t in population.observation_dates()]
        assert all(lo <= r <= hi for r in rates), (segment, rates)
        assert max(rates) - min(rates) > 0.004, (segment, rates)


def test_true_pd_is_calibrated_against_drawn_defaults(population: Population) -> None:
    for segment in ("sme", "household"):
        pooled = _pooled(population, segment)
        n, observed, expected = len(pooled), pooled["default"].sum(), pooled["pd"].sum()
        sd = np.sqrt((pooled["pd"] * (1 - pooled["pd"])).sum())
        assert abs(observed - expected) < 4 * sd, (segment, n, observed, expected)


def test_oracle_auc_is_informative(population: Population) -> None:
    from sklearn.metrics import roc_auc_score

    for segment in ("sme", "household"):
        pooled = _pooled(population, segment)
        assert roc_auc_score(pooled["default"], pooled["pd"]) > 0.72


def test_blacklisted_wage_arrears_and_tax_grade_d_default_more(population: Population) -> None:
    pooled = _pooled(population, "sme")
    wage = population.tables["wage_arrears"]
    tax = population.tables["tax_grades"]
    rows = []
    for t, group in pooled.groupby("as_of"):
        known = wage[(wage["blacklisted_on"] <= t) & (wage["delisted_on"].isna() | (wage["delisted_on"] > t))]
        grade = tax[tax["published_on"] <= t].sort_values("year").groupby("uscc")["grade"].last()
        rows.append(group.assign(blacklisted=group["subject_id"].isin(known["uscc"]),
                                 grade=group["subject_id"].map(grade)))
    frame = pd.concat(rows)
    by_black = frame.groupby("blacklisted")["default"].mean()
    assert by_black[True] > 2 * by_black[False]
    by_grade = frame.groupby("grade")["default"].mean()
    assert by_grade["D"] > 2 * by_grade["A"]
    assert by_grade["C"] > by_grade["B"] > by_grade["A"]


def test_poorer_and_indebted_households_default_more(population: Population) -> None:
    pooled = _pooled(population, "household")
    surveys = population.tables["households"]
    rows = []
    for t, group in pooled.groupby("as_of"):
        latest = surveys[surveys["surveyed_on"] <= t].sort_values("surveyed_on").groupby("head_id").last()
        per_head = (latest["annual_income"] / latest["members"]).reindex(group["subject_id"]).to_numpy()
        rows.append(group.assign(per_head=per_head))
    frame = pd.concat(rows).dropna()
    poorest = frame["per_head"] <= frame["per_head"].quantile(0.25)
    richest = frame["per_head"] >= frame["per_head"].quantile(0.75)
    assert frame.loc[poorest, "default"].mean() > 1.5 * frame.loc[richest, "default"].mean()


def test_late_arriving_records_exist(population: Population) -> None:
    pen = population.tables["penalties"]
    lag = (pen["published_on"] - pen["decided_on"]).dt.days
    assert (lag > 60).mean() > 0.01
    assert (lag >= 0).all()


def test_missing_values_and_objections_exist(population: Population, tmp_path: Path) -> None:
    assert population.tables["households"]["village_evaluation"].isna().mean() > 0.05
    assert population.tables["penalties"]["repaired_on"].notna().any()
    assert population.tables["wage_arrears"]["blacklisted_on"].notna().any()
    assert population.tables["wage_arrears"]["resolved_on"].notna().any()
    assert set(population.tables["contracts"]["status"]) == {"fulfilled", "breached", "disputed"}


def test_feeds_go_through_ingest_into_the_store(tmp_path: Path) -> None:
    population = generate(SMALL)
    written = population.write_files(tmp_path / "feeds", fmt="parquet")
    assert len(written["penalties"]) == 2, "each record kind arrives in two files"
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.init()
    reports = load_feeds(store, written)
    by_kind: dict[str, list] = {}
    for r in reports:
        by_kind.setdefault(r.kind, []).append(r)
        assert r.rows_read == r.inserted + r.duplicates + r.rejected
    counts = store.counts()
    for kind, rs in by_kind.items():
        assert counts[kind] == sum(r.inserted for r in rs)
        if kind == "objections":
            continue
        # every generated record is stored except the ones corrupted on the way (a corrupted row may
        # also be a duplicate whose good copy is stored: hence a range)
        generated, rejected = len(population.tables[kind]), sum(r.rejected for r in rs)
        assert generated - rejected <= counts[kind] <= generated, kind
    assert sum(r.duplicates for r in by_kind["contracts"]) > 0, "duplicates across files"
    assert sum(r.rejected for rs in by_kind.values() for r in rs) > 0, "corrupted rows are rejected"
    assert counts["objections"] > 0
    objection = store.records("objections").iloc[0]
    target = store.records(objection["target_kind"])
    assert objection["target_key"] in set(target["record_key"]), "objections point at stored records"


def test_csv_feeds_with_chinese_headers(tmp_path: Path) -> None:
    written = generate(SMALL).write_files(tmp_path, fmt="csv")
    header = written["penalties"][0].read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("统一社会信用代码,行政处罚决定书文号,处罚决定日期")
    body = written["penalties"][0].read_text(encoding="utf-8")
    assert "一般" in body or "严重" in body


def test_the_years_must_leave_history_before_the_book_and_outcomes_after_it() -> None:
    from creditscore.errors import InvalidValue
    from creditscore.synth import SynthConfig, generate

    for years in ({"start_year": 2020, "first_loan_year": 2020}, {"first_loan_year": 2025}):
        with pytest.raises(InvalidValue, match="need start_year < first_loan_year < end_year"):
            generate(SynthConfig(n_firms=10, n_households=10, **years))


def test_firms_ages_are_alike_on_every_observation_date(population: Population) -> None:
    firms = population.tables["enterprises"]
    medians = []
    for t in population.observation_dates():
        alive = firms[firms["registered_on"] <= t]
        medians.append(((t - alive["registered_on"]).dt.days / 365).median())
    assert max(medians) - min(medians) < 0.6, medians  # a population that only aged: +4 years over the dates
