"""One path: the store's single-subject fast path, its batch, and inline records give the same row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.errors import UnknownSubject
from creditscore.features import (
    build_snapshots,
    compute_features,
    default_labels,
    load_catalogue,
)
from creditscore.policy import Policy
from creditscore.store import Store
from creditscore.store.features import (
    features_from_store,
    store_records,
    subject_features,
    subjects_features,
)
from creditscore.synth import Population, SynthConfig, generate
from creditscore.synth.feeds import load_feeds

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Population, Store]:
    folder = tmp_path_factory.mktemp("store")
    population = generate(SynthConfig(seed=21, n_firms=250, n_households=250))
    store = Store(f"sqlite:///{folder / 'store.db'}")
    store.init()
    load_feeds(store, population.write_files(folder / "feeds"))
    return population, store


@pytest.mark.parametrize("segment", ["sme", "household"])
def test_single_subject_from_the_store_equals_its_batch_row(world, policy: Policy, segment: str) -> None:
    _, store = world
    catalogue = load_catalogue(segment)
    batch = features_from_store(store, catalogue, AS_OF, policy=policy)
    for subject in batch.index[:40]:
        one = subject_features(store, catalogue, subject, AS_OF, policy=policy)
        np.testing.assert_array_equal(one.to_numpy(), batch.loc[[subject]].to_numpy())


@pytest.mark.parametrize("segment", ["sme", "household"])
def test_several_subjects_at_once_equal_their_batch_rows(world, policy: Policy, segment: str) -> None:
    """The service's path for requests answered together — past the 100 subjects one query holds."""
    _, store = world
    catalogue = load_catalogue(segment)
    batch = features_from_store(store, catalogue, AS_OF, policy=policy)
    asked = [*batch.index[:230], "91350100M000100Y43", batch.index[0]]  # one unknown, one asked twice
    together = subjects_features(store, catalogue, asked, AS_OF, policy=policy)
    assert list(together.index) == list(batch.index[:230])
    np.testing.assert_array_equal(together.to_numpy(), batch.loc[batch.index[:230]].to_numpy())


def test_subject_lookup_normalises_the_identifier(world, policy: Policy) -> None:
    _, store = world
    catalogue = load_catalogue("sme")
    uscc = store.records("enterprises")["uscc"].iloc[0]
    one = subject_features(store, catalogue, uscc.lower(), AS_OF, policy=policy)
    assert list(one.index) == [uscc]


def test_unknown_subject_is_reported(world, policy: Policy) -> None:
    _, store = world
    with pytest.raises(UnknownSubject):
        subject_features(store, load_catalogue("sme"), "91350100M000100Y43", AS_OF, policy=policy)


def test_store_batch_equals_features_from_the_generated_truth_where_no_row_was_rejected(world,
                                                                                       policy: Policy) -> None:
    population, store = world
    catalogue = load_catalogue("sme")
    from_store = features_from_store(store, catalogue, AS_OF, policy=policy)
    stored = store_records(store, catalogue)
    truth = compute_features(catalogue, population.tables, AS_OF, policy, subjects=from_store.index)
    # Objections (in the store, not in the truth tables) and rejected rows may differ; most firms are identical.
    same = (np.isclose(from_store.to_numpy(), truth.to_numpy(), equal_nan=True)).all(axis=1)
    assert same.mean() > 0.9
    assert len(stored["objections"]) > 0


def test_inline_records_give_the_same_row_as_the_store(world, policy: Policy) -> None:
    _, store = world
    catalogue = load_catalogue("sme")
    batch = features_from_store(store, catalogue, AS_OF, policy=policy)
    subject = batch.index[3]
    inline = store.subject_records(subject)  # what a bank would send: the subject's own records
    one = compute_features(catalogue, inline, AS_OF, policy, subjects=[subject])
    np.testing.assert_array_equal(one.to_numpy(), batch.loc[[subject]].to_numpy())


def test_snapshot_labels_match_the_generators_outcomes(world, policy: Policy) -> None:
    population, _ = world
    dates = population.observation_dates()[:2]
    snapshots = build_snapshots(population.tables, load_catalogue("sme"), dates, policy)
    assert list(snapshots.columns[:2]) == ["subject_id", "as_of"]
    assert snapshots.columns[-1] == "default"
    for t in dates:
        ours = snapshots[snapshots["as_of"] == t].set_index("subject_id")["default"].sort_index()
        truth = population.outcomes(t, "sme").set_index("subject_id")["default"].sort_index()
        pd.testing.assert_series_equal(ours, truth, check_names=False, check_dtype=False)


def test_labels_look_forward_twelve_months(tmp_path: Path) -> None:
    loans = pd.DataFrame({
        "subject_id": ["a", "b", "c", "d"], "subject_type": "enterprise",
        "opened_on": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-01-01", "2024-08-01"]),
        "closed_on": pd.to_datetime([None, "2024-03-01", None, None]),
        "default_on": pd.to_datetime(["2025-06-30", None, "2025-07-01", None]),
    })
    labels = default_labels(loans, "2024-06-30")
    assert labels.to_dict() == {"a": 1, "c": 0}  # b closed before t, d opened after t
