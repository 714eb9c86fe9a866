"""Records from the driver into the engine's columns: the same numbers however the dates come."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from creditscore.features.columns import day_number, from_rows
from creditscore.records.contracts import KINDS

dates = st.one_of(st.none(), st.dates(min_value=dt.date(1949, 10, 1), max_value=dt.date(2099, 12, 31)))


@given(st.lists(dates, max_size=80), st.sampled_from(["iso", "date", "datetime text"]))
def test_dates_from_any_driver_are_day_numbers(values: list[dt.date | None], form: str) -> None:
    """SQLite gives ISO text, PostgreSQL ``date`` objects; either way a date is its day number, None is NaN."""
    as_given = {"iso": lambda d: d.isoformat(), "date": lambda d: d,
                "datetime text": lambda d: f"{d.isoformat()} 00:00:00"}[form]
    rows = [(f"k{i}", "91350100M000100Y43", None if d is None else as_given(d), None if d is None else 1234)
            for i, d in enumerate(values)]
    cols = from_rows(KINDS["penalties"], ["record_key", "uscc", "decided_on", "amount"], rows)
    expected = np.array([np.nan if d is None else day_number(d) for d in values], dtype=float)
    np.testing.assert_array_equal(cols["decided_on"], expected)
    np.testing.assert_array_equal(cols["amount"], np.array([np.nan if d is None else 1234.0 for d in values]))
    assert cols["decided_on"].dtype == float


def test_text_numpy_would_shift_falls_back_to_one_value_at_a_time() -> None:
    """A zoned time is its own calendar day (numpy would move it to UTC: the day before)."""
    rows = [("a", "2024-03-01T02:00:00+08:00"), ("b", None)] * 20  # long enough for numpy to be tried
    cols = from_rows(KINDS["penalties"], ["record_key", "decided_on"], rows)
    np.testing.assert_array_equal(cols["decided_on"], [day_number("2024-03-01"), np.nan] * 20)
