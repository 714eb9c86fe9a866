"""Small vectorised helpers shared by the synthetic generators."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = np.timedelta64(1, "D")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def year_start(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years) - 1970).astype("datetime64[Y]").astype("datetime64[D]")


def days(n: np.ndarray | int) -> np.ndarray:
    return np.asarray(n).astype("timedelta64[D]")


def events(rng: np.random.Generator, rate: np.ndarray, years: np.ndarray, alive_from: np.ndarray) -> pd.DataFrame:
    """Poisson events per subject and year.

    ``rate`` has one row per subject and one column per year (expected events in
    that year). Returns one row per event: subject position ``i``, ``year`` and a
    uniformly drawn ``date`` in that year, on or after the subject's ``alive_from``.
    """
    counts = rng.poisson(np.clip(rate, 0, None))
    i, y = np.nonzero(counts)
    reps = counts[i, y]
    i, y = np.repeat(i, reps), np.repeat(y, reps)
    start = year_start(years[y])
    date = start + days(rng.integers(0, 365, len(i)))
    keep = date >= alive_from[i]
    return pd.DataFrame({"i": i[keep], "year": years[y][keep], "date": date[keep]})


def published(rng: np.random.Generator, event: np.ndarray, lag: int, late_share: float) -> np.ndarray:
    """Publication dates: the kind's usual lag plus a little jitter, and a share of late arrivals.

    Late arrivals (a department that sends a batch months later) are what make
    point-in-time honesty matter: a model trained on what is in the store *now*
    would see records that were not known at the time.
    """
    n = len(event)
    extra = rng.integers(0, 8, n)
    late = rng.random(n) < late_share
    extra[late] += rng.integers(60, 400, late.sum())
    return event + days(lag + extra)


def lognormal_yuan(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int) -> np.ndarray:
    """Amounts in yuan, rounded to whole yuan (fen in the store is yuan × 100)."""
    return np.round(np.asarray(median) * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def to_datetime(a: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(a).astype("datetime64[s]"))
