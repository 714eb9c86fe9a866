"""Labels and stacked training snapshots: features at several as-of dates, each with its next-12-month outcome.

The label looks *forward* from the as-of date and is the only thing that may: a
subject is in the snapshot at *t* if it had a loan outstanding at *t* (opened, not
closed, not yet defaulted), and its label is 1 if one of its loans defaulted
(reached 90 days past due) within ``horizon_days`` after *t*. Features at *t* see
only what was known at *t* (see :mod:`creditscore.features.engine`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from creditscore.features.catalogue import Catalogue
from creditscore.features.engine import compute_features
from creditscore.policy import Policy

__all__ = ["build_snapshots", "default_labels"]


def default_labels(loans: pd.DataFrame, as_of: object, *, horizon_days: int = 365,
                   subject_type: str | None = None) -> pd.Series:
    """1 if a subject with a loan outstanding at ``as_of`` defaulted within the horizon, else 0."""
    t = pd.Timestamp(as_of)
    if subject_type is not None:
        loans = loans[loans["subject_type"] == subject_type]
    live = loans[(loans["opened_on"] <= t) & (loans["closed_on"].isna() | (loans["closed_on"] > t))
                 & (loans["default_on"].isna() | (loans["default_on"] > t))]
    bad = (live["default_on"] > t) & (live["default_on"] <= t + pd.Timedelta(days=horizon_days))
    return bad.groupby(live["subject_id"]).any().astype(int).rename("default")


def build_snapshots(records: dict[str, pd.DataFrame], catalogue: Catalogue, as_of_dates: Iterable[object],
                    policy: Policy, *, horizon_days: int = 365) -> pd.DataFrame:
    """Stacked snapshots: one row per (subject with a loan outstanding, as-of date), features and label.

    Columns: ``subject_id``, ``as_of``, the catalogue's indicators in order, ``default``.
    """
    frames = []
    for as_of in as_of_dates:
        t = pd.Timestamp(as_of)
        labels = default_labels(records["loans"], t, horizon_days=horizon_days, subject_type=catalogue.subject.value)
        features = compute_features(catalogue, records, t, policy, subjects=labels.index)
        frame = features.reset_index()
        frame.insert(1, "as_of", t)
        frame["default"] = labels.to_numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
