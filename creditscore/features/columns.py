"""Records as plain numpy columns: the engine's input format.

pandas costs tens of microseconds per operation whatever the size; a subject's
grade is computed from a few dozen records, so the engine works on numpy arrays
that cost the same per element at any size. One encoding everywhere:

* dates: float64 days since 1970-01-01, NaN when empty (``NaN <= t`` is false, which
  is exactly "not happened");
* numbers (money in fen, counts, years): float64, NaN when empty;
* text, codes and enumerations: object arrays of ``str`` (``None`` when empty).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from creditscore.records.contracts import Field, FieldType, RecordKind

__all__ = ["Columns", "day_number", "empty_columns", "from_frame", "from_rows"]

Columns = dict[str, np.ndarray]
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_DATES = (FieldType.DATE, FieldType.MONTH)
_NUMBERS = (FieldType.MONEY, FieldType.INT, FieldType.YEAR, FieldType.DECIMAL)


def day_number(value: object) -> float:
    """Days since 1970-01-01 of a date-like value."""
    return float((pd.Timestamp(value).normalize() - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))


def _fields(kind: RecordKind) -> list[Field]:
    return list(kind.fields)


def from_frame(kind: RecordKind, frame: pd.DataFrame) -> Columns:
    """Typed record frame (parser or store dtypes) → columns."""
    out: Columns = {}
    for f in _fields(kind):
        if f.name not in frame:
            out[f.name] = _missing(f, len(frame))
            continue
        s = frame[f.name]
        if f.type in _DATES:
            d = pd.to_datetime(s).astype("datetime64[s]")
            values = d.to_numpy().astype("datetime64[D]").astype("int64").astype(float)
            values[d.isna().to_numpy()] = np.nan
            out[f.name] = values
        elif f.type in _NUMBERS:
            out[f.name] = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        else:
            out[f.name] = s.astype(object).where(s.notna(), None).to_numpy()
    key = frame["record_key"] if "record_key" in frame else pd.Series([None] * len(frame))
    out["record_key"] = key.astype(object).where(key.notna(), None).to_numpy()
    return out


def from_rows(kind: RecordKind, names: list[str], rows: list[tuple]) -> Columns:
    """Database rows (Python values) → columns, without building a DataFrame (the single-subject path)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    by_name = dict(zip(names, columns, strict=True))
    out: Columns = {}
    for f in _fields(kind):
        values = by_name.get(f.name)
        if values is None:
            out[f.name] = _missing(f, len(rows))
        elif f.type in _DATES:
            out[f.name] = _day_numbers(values)
        elif f.type in _NUMBERS:
            out[f.name] = np.array(values, dtype=float)  # None → NaN; PostgreSQL's Decimal → float
        else:
            out[f.name] = np.array(values, dtype=object)
    out["record_key"] = np.array(by_name.get("record_key", [None] * len(rows)), dtype=object)
    return out


def _day_numbers(values: tuple) -> np.ndarray:
    """Dates as the driver gives them (ISO text from SQLite, ``date`` from PostgreSQL; None) → day numbers.

    numpy parses a long column in C; a short one (one subject's records) or anything numpy refuses goes value by
    value — numpy's set-up costs more than a dozen dates.
    """
    if len(values) < 32:
        return np.array([np.nan if v is None else float(_ordinal(v) - _EPOCH_ORDINAL) for v in values], dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy would move a zoned time to UTC (another day, maybe), warning
            days = np.array(values, dtype="datetime64[D]")
    except (ValueError, TypeError, Warning):
        return np.array([np.nan if v is None else float(_ordinal(v) - _EPOCH_ORDINAL) for v in values], dtype=float)
    out = days.astype("int64").astype(float)
    out[np.isnat(days)] = np.nan
    return out


def _ordinal(value: object) -> int:
    if isinstance(value, dt.date):
        return value.toordinal()
    return dt.date.fromisoformat(str(value)[:10]).toordinal()


def _missing(f: Field, n: int) -> np.ndarray:
    if f.type in _DATES or f.type in _NUMBERS:
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)


def empty_columns(kind: RecordKind) -> Columns:
    out = {f.name: _missing(f, 0) for f in _fields(kind)}
    out["record_key"] = np.empty(0, dtype=object)
    return out


def length(columns: Columns) -> int:
    return len(columns["record_key"])


def take(columns: Columns, mask: np.ndarray) -> Columns:
    return {k: v[mask] for k, v in columns.items()}
