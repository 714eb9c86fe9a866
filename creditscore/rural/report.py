"""The assessor's printable HTML report of a graded household batch.

One self-contained file (charts inline as SVG, no scripts, no downloads) that a
township office can open and print: the summary, the credit-household share of
each village against its threshold, the grade mix per village, the reasons most
often cited, the township verdicts and the rows that need fixing.

Charts are SVG with text kept as text (``svg.fonttype = none``): the browser draws
the Chinese village names with its own fonts, so a server without CJK fonts still
produces a readable report.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader
from matplotlib.ticker import MaxNLocator

from creditscore.charts import style, svg
from creditscore.features.catalogue import Catalogue
from creditscore.rural.batch import BatchResult
from creditscore.rural.workbook import criteria_notes

__all__ = ["grade_colours", "render_report", "top_reasons", "write_report"]


def grade_colours(grades: list[str]) -> dict[str, str]:
    """A colour per grade of the scale, best first: green through yellow to red (the scale decides the grades)."""
    cmap = mpl.colormaps["RdYlGn"]
    steps = np.linspace(0.85, 0.1, len(grades)) if len(grades) > 1 else [0.85]
    return {g: mpl.colors.to_hex(cmap(s)) for g, s in zip(grades, steps, strict=True)}
MAX_VILLAGE_ROWS = 2_000  # a printed report lists the villages most in need first; the workbook has them all
MAX_ERROR_ROWS = 500


def top_reasons(households: pd.DataFrame, catalogue: Catalogue, n: int = 10) -> pd.DataFrame:
    """The indicators most often among the households' top adverse reasons (code, names, households, share)."""
    codes = households["reason_codes"].astype(str).str.split(";").explode()
    codes = codes[codes != ""]
    counts = codes.value_counts().head(n)
    return pd.DataFrame({
        "reason_code": counts.index,
        "name_zh": [catalogue.by_id[c].name_zh if c in catalogue.by_id else c for c in counts.index],
        "name_en": [catalogue.by_id[c].name_en if c in catalogue.by_id else c for c in counts.index],
        "households": counts.to_numpy(), "share": counts.to_numpy() / max(len(households), 1)})


def _reasons_chart(reasons: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(reasons) + 0.8))
    ax.barh(reasons["name_zh"][::-1], reasons["share"][::-1] * 100, color="#5b8def")
    ax.set_xlabel("% of graded households citing it among their top 3 adverse reasons")
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def _share_chart(villages: pd.DataFrame) -> str:
    """Every village's credit-household share against its threshold: who is in, who is near."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    share = villages["credit_household_share"] * 100
    ax.hist(share, bins=np.arange(0, 105, 5), color="#5b8def", edgecolor="white")
    for threshold in sorted(set(villages["credit_household_share_threshold"])):
        ax.axvline(threshold * 100, color="#c62828", linestyle="--", linewidth=1.2)
        ax.annotate(f"threshold {threshold:.0%}", (threshold * 100, ax.get_ylim()[1] * 0.92), color="#c62828",
                    xytext=(4, 0), textcoords="offset points", fontsize=8)
    ax.set_xlabel("credit-household share of the village (%)")
    ax.set_ylabel("villages")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def _grade_mix(households: pd.DataFrame, by: list[str], grades: list[str]) -> pd.DataFrame:
    counts = households.groupby([*by, "grade"]).size().unstack("grade", fill_value=0)
    counts = counts.reindex(columns=grades, fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0)


def _township_chart(households: pd.DataFrame, colours: dict[str, str]) -> str:
    mix = _grade_mix(households, ["township_name"], list(colours)).head(40)
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(mix) + 1.0))
    left = np.zeros(len(mix))
    for grade in mix.columns:
        ax.barh(mix.index[::-1], mix[grade][::-1] * 100, left=left[::-1], label=grade,
                color=colours[grade])
        left = left + mix[grade].to_numpy() * 100
    ax.set_xlabel("% of graded households")
    ax.legend(ncol=len(mix.columns), loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / (len(mix) + 3)),
              frameon=False)
    ax.set_xlim(0, 100)
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def _village_rows(result: BatchResult, colours: dict[str, str]) -> list[dict[str, object]]:
    v = result.villages.copy()
    mix = _grade_mix(result.households, ["village_code"], list(colours))
    v["notes"] = criteria_notes(v)
    v = v.sort_values(["credit_village", "credit_household_share_margin"], ascending=[True, True])
    rows = []
    for r in v.head(MAX_VILLAGE_ROWS).itertuples(index=False):
        shares = mix.loc[r.village_code] if r.village_code in mix.index else pd.Series(dtype=float)
        rows.append({
            "township": r.township_name, "village": r.village_name, "code": r.village_code,
            "households": int(r.households), "credit": int(r.credit_households),
            "share": float(r.credit_household_share), "threshold": float(r.credit_household_share_threshold),
            "on_time": None if pd.isna(r.on_time_repayment) else float(r.on_time_repayment),
            "npl": None if pd.isna(r.npl_ratio) else float(r.npl_ratio),
            "credit_village": bool(r.credit_village), "notes": r.notes,
            "mix": [(g, float(shares.get(g, 0.0)), c) for g, c in colours.items()],
        })
    return rows


def render_report(result: BatchResult, catalogue: Catalogue, *, source: str = "") -> str:
    """The report as one HTML document."""
    env = Environment(loader=PackageLoader("creditscore", "templates"), autoescape=True)
    hh = result.households
    reasons = top_reasons(hh, catalogue) if len(hh) else pd.DataFrame()
    colours = grade_colours(result.grades)
    grades = hh["grade"].value_counts().reindex(result.grades, fill_value=0) if len(hh) else None
    townships = []
    if len(result.townships):
        t = result.townships.copy()
        t["notes"] = criteria_notes(t)
        townships = t.to_dict("records")
    with style():
        charts = {"reasons": _reasons_chart(reasons) if len(reasons) else "",
                  "share": _share_chart(result.villages) if len(result.villages) else "",
                  "townships": _township_chart(hh, colours) if len(hh) else ""}
    return env.get_template("household_report.html.j2").render(
        r=result, source=source, grades=grades, colours=colours, reasons=reasons.to_dict("records"),
        charts=charts,
        villages=_village_rows(result, colours) if len(result.villages) else [], village_total=len(result.villages),
        townships=townships, errors=result.errors.head(MAX_ERROR_ROWS).to_dict("records"),
        error_total=len(result.errors), max_villages=MAX_VILLAGE_ROWS,
        sheets="sheet" in result.errors and bool((result.errors["sheet"].astype(str) != "").any()))


def write_report(result: BatchResult, catalogue: Catalogue, out: str | Path, *, source: str = "") -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, catalogue, source=source), encoding="utf-8")
    return path
