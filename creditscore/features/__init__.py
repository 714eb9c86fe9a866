"""Indicators (指标体系): the declarative catalogue and the point-in-time engine.

Pure: nothing here reads the store. ``compute_features`` is the one path — the store-backed helpers
(:mod:`creditscore.store.features`), the service's inline-record path, the household files and the
training snapshots all hand it records and a date.
"""

from __future__ import annotations

from creditscore.features.catalogue import Catalogue, Direction, Family, Indicator, load_catalogue
from creditscore.features.engine import compute_features, prepare_records
from creditscore.features.snapshots import build_snapshots, default_labels

__all__ = [
    "Catalogue",
    "Direction",
    "Family",
    "Indicator",
    "build_snapshots",
    "compute_features",
    "default_labels",
    "load_catalogue",
    "prepare_records",
]
