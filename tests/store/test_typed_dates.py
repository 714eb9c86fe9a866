"""Dates from a warehouse's Parquet, however typed, become the same datetime64[s] (cast by Arrow where it can:
pandas converted Parquet dates a Python object at a time)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from creditscore.records.contracts import KINDS
from creditscore.store.db import typed_frame


@pytest.mark.parametrize("column", [
    pa.array([dt.date(2024, 1, 2), None], pa.date32()),
    pa.array([dt.datetime(2024, 1, 2), None], pa.timestamp("us")),
    pa.array([dt.datetime(2024, 1, 2), None], pa.timestamp("ms")),
    pa.array([pd.Timestamp("2024-01-02 00:30", tz="Asia/Shanghai"), None], pa.timestamp("us", tz="Asia/Shanghai")),
    pa.array(["2024-01-02", None], pa.string()),
], ids=["date32", "timestamp-us", "timestamp-ms", "zoned-local-midnight", "text"])
def test_every_kind_of_date_column_types_alike(column: pa.Array) -> None:
    raw = pd.DataFrame({"head_id": ["410882198001010011", "410882198001010011"],
                        "surveyed_on": pd.Series(pd.array(column, dtype=pd.ArrowDtype(column.type)))})
    typed = typed_frame(KINDS["households"], raw)["surveyed_on"]
    assert str(typed.dtype) == "datetime64[s]"
    assert typed.iloc[0] == pd.Timestamp("2024-01-02") + (pd.Timedelta(minutes=30) if column.type == pa.timestamp(
        "us", tz="Asia/Shanghai") else pd.Timedelta(0))  # a zoned instant keeps its own day, not UTC's (1 Jan)
    assert pd.isna(typed.iloc[1])


def test_an_all_empty_date_column_is_typed_too() -> None:
    raw = pd.DataFrame({"surveyed_on": pd.Series(pd.array([None, None], dtype=pd.ArrowDtype(pa.null())))})
    typed = typed_frame(KINDS["households"], raw)["surveyed_on"]
    assert str(typed.dtype) == "datetime64[s]"
    assert typed.isna().all()
