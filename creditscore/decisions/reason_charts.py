"""Charts of one subject's explanation for credit reports: a waterfall and a family bar chart.

Labels are in English: the plotting fonts on a plain server carry no CJK glyphs;
the reason texts themselves (see :mod:`creditscore.decisions.reasons`) are bilingual.
"""

from __future__ import annotations

import io

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from creditscore.decisions.reasons import Explanation, family_view
from creditscore.features.catalogue import Catalogue

__all__ = ["family_chart", "waterfall"]


def _save(fig: plt.Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def waterfall(explanation: Explanation, catalogue: Catalogue, row: int = 0, *, top: int = 10,
              fmt: str = "png") -> bytes:
    """From the base value to the subject's log-odds: the ``top`` largest contributions, the rest summed."""
    c = explanation.contributions[row]
    order = np.argsort(-np.abs(c), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [catalogue.by_id[explanation.feature_names[i]].name_en for i in shown]
    steps = list(c[shown])
    if len(rest):
        labels.append(f"{len(rest)} other indicators")
        steps.append(float(c[rest].sum()))
    fig, ax = plt.subplots(figsize=(7, 0.42 * (len(steps) + 2) + 1))
    position = explanation.base_value
    for k, step in enumerate(steps):
        colour = "#d62728" if step > 0 else "#2ca02c"
        ax.barh(k, step, left=position, color=colour)
        ax.text(position + step, k, f" {step:+.2f}", va="center", ha="left" if step > 0 else "right", fontsize=8)
        position += step
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.12)
    ax.axvline(explanation.base_value, color="grey", lw=0.8, ls=":")
    ax.axvline(explanation.margin[row], color="k", lw=0.8)
    ax.set_xlabel(f"log-odds of default: base {explanation.base_value:.2f} → subject {explanation.margin[row]:.2f}")
    ax.set_title(f"Why: {explanation.subjects[row]}")
    return _save(fig, fmt)


def family_chart(explanation: Explanation, catalogue: Catalogue, row: int = 0, *, fmt: str = "png") -> bytes:
    """Contributions summed by family (tax, wages, …): red raises the risk, green lowers it."""
    families = family_view(explanation, catalogue).iloc[row]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(families) + 1))
    colours = ["#d62728" if v > 0 else "#2ca02c" for v in families.to_numpy()]
    ax.barh(range(len(families)), families.to_numpy(), color=colours)
    ax.set_yticks(range(len(families)), [f.replace("_", " ") for f in families.index], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("log-odds of default, by family")
    ax.set_title(f"By family: {explanation.subjects[row]}")
    return _save(fig, fmt)
