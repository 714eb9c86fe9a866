"""The store-backed side of the indicators: records as known at a date, read for a catalogue, into the engine.

The engine (:mod:`creditscore.features`) is pure; these helpers are the adapters between it and the store, so
that importing the catalogue or the engine never loads SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from creditscore.features import Catalogue, compute_features
from creditscore.features.columns import from_rows
from creditscore.policy import Policy, load_policy
from creditscore.records.contracts import KINDS
from creditscore.store.db import Store

__all__ = ["features_from_store", "store_records", "subject_features", "subjects_features"]


def _kinds(catalogue: Catalogue) -> set[str]:
    return catalogue.sources() | {catalogue.segment.subject_kind, "loans", "objections"}


def store_records(store: Store, catalogue: Catalogue, *, as_of: object | None = None,
                  subjects: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The records a catalogue reads, from the store, as known at ``as_of`` (all if None)."""
    t = None if as_of is None else pd.Timestamp(as_of).date()
    out = {}
    for kind in _kinds(catalogue):
        out[kind] = store.records(kind, as_of=t, subjects=None if kind == "objections" else subjects)
    return out


def features_from_store(store: Store, catalogue: Catalogue, as_of: object, *, policy: Policy | None = None,
                        subjects: Iterable[str] | None = None) -> pd.DataFrame:
    """Indicators for many subjects (all by default) as of a date, read from the store."""
    wanted = None if subjects is None else list(subjects)
    records = store_records(store, catalogue, as_of=as_of, subjects=wanted)
    return compute_features(catalogue, records, as_of, policy or load_policy(), subjects=wanted)


def subject_features(store: Store, catalogue: Catalogue, subject_id: str, as_of: object, *,
                     policy: Policy | None = None) -> pd.DataFrame:
    """Indicators for one subject as of a date: exactly its row of a full batch.

    Raises :class:`creditscore.errors.UnknownSubject` when the store knows nothing of it.
    """
    key, rows = store.subject_rows(subject_id, as_of=pd.Timestamp(as_of).date(), kinds=_kinds(catalogue))
    records = {name: from_rows(KINDS[name], names, data) for name, (names, data) in rows.items()}
    return compute_features(catalogue, records, as_of, policy or load_policy(), subjects=[key])


def subjects_features(store: Store, catalogue: Catalogue, subject_ids: list[str], as_of: object, *,
                      policy: Policy | None = None) -> pd.DataFrame:
    """Indicators for a few subjects (normalised ids) in one pass; subjects the store does not know are left out.

    Each row equals the subject's :func:`subject_features` — the engine's rows do not depend on who else is
    in the batch — but the queries and the engine's fixed costs are paid once for all of them.
    """
    subject_type = catalogue.segment.subject_type
    known, rows = store.subjects_rows(subject_ids, subject_type, as_of=pd.Timestamp(as_of).date(),
                                      kinds=_kinds(catalogue))
    found = [s for s in dict.fromkeys(subject_ids) if s in known]
    records = {name: from_rows(KINDS[name], names, data) for name, (names, data) in rows.items()}
    return compute_features(catalogue, records, as_of, policy or load_policy(), subjects=found)
