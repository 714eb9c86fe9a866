"""Fixtures: the hand-built subjects of :mod:`tests.features.known`."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.features import known


@pytest.fixture(scope="session")
def firms() -> tuple[str, str]:
    return known.firms()


@pytest.fixture(scope="session")
def sme_records() -> dict[str, pd.DataFrame]:
    return known.sme_records()


@pytest.fixture(scope="session")
def household_records() -> dict[str, pd.DataFrame]:
    return known.household_records()
