"""Indicator analysis: bad rates by bin add up, and information value ranks a real signal above noise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditscore.features import load_catalogue
from creditscore.modeling.analysis import bad_rate_by_bin, indicator_power


def _frame(n: int = 4_000) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(3)
    catalogue = load_catalogue("household")
    frame = pd.DataFrame(rng.normal(size=(n, len(catalogue.ids))), columns=catalogue.ids)
    signal = catalogue.ids[0]
    frame["default"] = (rng.random(n) < 1 / (1 + np.exp(-(-3 + 1.5 * frame[signal])))).astype(int)
    return frame, catalogue.ids


def test_bad_rate_by_bin_accounts_for_every_subject_and_default() -> None:
    frame, ids = _frame()
    frame.loc[:99, ids[0]] = np.nan  # missing values keep their own bin
    table = bad_rate_by_bin(frame[ids[0]], frame["default"])
    assert table["count"].sum() == len(frame)
    assert table["defaults"].sum() == frame["default"].sum()
    assert (table["default_rate"] == table["defaults"] / table["count"]).all()
    assert "Missing" in set(table["bin"])
    numeric = table[~table["bin"].isin(["Missing", "Special"])]
    assert numeric["default_rate"].is_monotonic_increasing  # the signal raises risk: the bins show it


def test_information_value_puts_the_signal_first_and_calls_noise_useless() -> None:
    frame, ids = _frame()
    power = indicator_power(frame, load_catalogue("household")).set_index("indicator")
    assert power.index[0] == ids[0]
    assert power.loc[ids[0], "iv"] > 0.3
    noise = power.drop(index=ids[0])
    assert (noise["iv"] < 0.1).mean() > 0.9
    assert power.loc[ids[0], "strength"] in {"strong", "suspiciously strong"}
