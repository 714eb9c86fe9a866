"""Indicator analysis for analysts: bad rate by bin and information value (IV) of each indicator.

The bins are optbinning's optimal bins (the same machinery as the scorecard challenger), with
missing values in a bin of their own, so the analysis shows what the scorecard would see.
"""

from __future__ import annotations

import pandas as pd

from creditscore.features.catalogue import Catalogue

__all__ = ["bad_rate_by_bin", "indicator_power"]


def _binning(x: pd.Series, y: pd.Series, max_n_bins: int):
    from optbinning import OptimalBinning

    optb = OptimalBinning(name=str(x.name), dtype="numerical", max_n_bins=max_n_bins, solver="cp")
    optb.fit(x.to_numpy(dtype=float), y.to_numpy(dtype=int))
    return optb


def bad_rate_by_bin(x: pd.Series, y: pd.Series, *, max_n_bins: int = 8) -> pd.DataFrame:
    """Per bin of ``x``: subjects, defaults, default rate, WOE and IV contribution (optbinning's table)."""
    table = _binning(x, y, max_n_bins).binning_table.build(show_digits=4)
    table = table[table.index != "Totals"] if "Totals" in table.index else table.iloc[:-1]
    out = pd.DataFrame({"bin": table["Bin"].astype(str), "count": table["Count"].astype(int),
                        "defaults": table["Event"].astype(int), "default_rate": table["Event rate"].astype(float),
                        "woe": table["WoE"].astype(float), "iv": table["IV"].astype(float)})
    return out[out["count"] > 0].reset_index(drop=True)


def _strength(iv: float) -> str:
    """The usual reading of IV (Siddiqi): < 0.02 useless … > 0.5 suspiciously strong (check for leakage)."""
    for bound, label in ((0.02, "not predictive"), (0.1, "weak"), (0.3, "medium"), (0.5, "strong")):
        if iv < bound:
            return label
    return "suspiciously strong"


def indicator_power(frame: pd.DataFrame, catalogue: Catalogue, *, target: str = "default",
                    max_n_bins: int = 8) -> pd.DataFrame:
    """IV of every indicator against ``target`` (a snapshot frame), strongest first, with its reading."""
    y = frame[target].astype(int)
    rows = []
    for ind in catalogue.indicators:
        x = frame[ind.id].astype(float)
        iv = float(_binning(x, y, max_n_bins).binning_table.build().loc["Totals", "IV"]) if x.nunique() > 1 else 0.0
        rows.append({"indicator": ind.id, "name_zh": ind.name_zh, "name_en": ind.name_en, "family": ind.family.value,
                     "iv": iv, "strength": _strength(iv), "missing_share": float(x.isna().mean()),
                     "direction": ind.direction.value if hasattr(ind.direction, "value") else str(ind.direction)})
    return pd.DataFrame(rows).sort_values("iv", ascending=False, kind="stable").reset_index(drop=True)
