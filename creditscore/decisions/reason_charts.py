"""Charts of one subject's explanation: a waterfall and a family bar chart, in Chinese (or English).

Drawn the product's one way (:mod:`creditscore.charts`): PNG with a CJK font, or SVG for a page. A person's
resident ID in a title is masked, as everywhere the product shows one.
"""

from __future__ import annotations

from typing import Literal

import matplotlib.pyplot as plt
import numpy as np

from creditscore import charts
from creditscore.decisions.reasons import Explanation, family_view
from creditscore.features.catalogue import Catalogue, Family
from creditscore.records.subjects import display_id

__all__ = ["family_chart", "waterfall"]

Language = Literal["zh", "en"]

_WORDS = {
    "zh": {"others": "其余{n}项指标", "axis": "违约对数几率：基准值 {base:.2f} → 本主体 {margin:.2f}",
           "why": "评级原因：{subject}", "by_family": "按指标类别：{subject}",
           "family_axis": "违约对数几率贡献（按类别）"},
    "en": {"others": "{n} other indicators", "axis": "log-odds of default: base {base:.2f} → subject {margin:.2f}",
           "why": "Why: {subject}", "by_family": "By family: {subject}",
           "family_axis": "log-odds of default, by family"},
}


def _save(fig: plt.Figure, fmt: str) -> bytes:
    return charts.svg(fig).encode() if fmt == "svg" else charts.png(fig)


def waterfall(explanation: Explanation, catalogue: Catalogue, row: int = 0, *, top: int = 10,
              fmt: Literal["png", "svg"] = "png", language: Language = "zh") -> bytes:
    """From the base value to the subject's log-odds: the ``top`` largest contributions, the rest summed."""
    words = _WORDS[language]
    c = explanation.contributions[row]
    order = np.argsort(-np.abs(c), kind="stable")
    shown, rest = order[:top], order[top:]
    indicators = [catalogue.by_id[explanation.feature_names[i]] for i in shown]
    labels = [i.name_zh if language == "zh" else i.name_en for i in indicators]
    steps = list(c[shown])
    if len(rest):
        labels.append(words["others"].format(n=len(rest)))
        steps.append(float(c[rest].sum()))
    with charts.style():
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
        ax.set_xlabel(words["axis"].format(base=explanation.base_value, margin=explanation.margin[row]))
        ax.set_title(words["why"].format(subject=display_id(explanation.subjects[row])))
    return _save(fig, fmt)


def family_chart(explanation: Explanation, catalogue: Catalogue, row: int = 0, *,
                 fmt: Literal["png", "svg"] = "png", language: Language = "zh") -> bytes:
    """Contributions summed by family (纳税, 工资支付, …): red raises the risk, green lowers it."""
    words = _WORDS[language]
    families = family_view(explanation, catalogue).iloc[row]
    names = [Family(f).zh if language == "zh" else Family(f).en for f in families.index]
    with charts.style():
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(families) + 1))
        colours = ["#d62728" if v > 0 else "#2ca02c" for v in families.to_numpy()]
        ax.barh(range(len(families)), families.to_numpy(), color=colours)
        ax.set_yticks(range(len(families)), names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(words["family_axis"])
        ax.set_title(words["by_family"].format(subject=display_id(explanation.subjects[row])))
    return _save(fig, fmt)
