"""Charts read in Chinese wherever the reader does: one way for every chart, with a CJK font for rasters.

Every PNG the product draws is drawn here with Chinese text; the test configuration turns matplotlib's
"Glyph … missing from font" warning into an error (pyproject.toml), so any chart anywhere in the suite that
cannot draw its Chinese fails its test.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from creditscore import charts
from creditscore.decisions.reason_charts import family_chart, waterfall
from creditscore.decisions.scorer import load_scorer
from creditscore.modeling.contributions import explain
from creditscore.records.ids import mask_resident_id
from tests.features.known import HEAD, household_records


def test_a_cjk_font_is_installed_for_raster_charts() -> None:
    assert charts.cjk_font() is not None, "install a CJK font (Debian: fonts-noto-cjk) for PNG charts"


def test_a_png_draws_chinese_without_a_missing_glyph() -> None:
    with charts.style():
        fig, ax = plt.subplots()
        ax.bar(["AAA", "AA", "A", "非信用户"], [3, 5, 8, 2])
        ax.set_title("信用等级分布 — 石门乡李家沟村")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert charts.png(fig).startswith(b"\x89PNG")


def test_svg_keeps_chinese_text_as_text() -> None:
    with charts.style():
        fig, ax = plt.subplots()
        ax.bar(["非信用户"], [1])
    assert "非信用户" in charts.svg(fig)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_explanation_charts_speak_the_readers_language_and_mask_a_person(language: str) -> None:
    from creditscore.features import compute_features

    scorer = load_scorer("household", ref=None)
    features = compute_features(scorer.catalogue, household_records(), "2024-06-30", scorer.policy, subjects=[HEAD])
    e = explain(scorer.bundle, features)
    page = waterfall(e, scorer.catalogue, fmt="svg", language=language).decode()
    families = family_chart(e, scorer.catalogue, fmt="svg", language=language).decode()
    names = [i.name_zh if language == "zh" else i.name_en for i in scorer.catalogue.indicators]
    assert any(n in page for n in names)
    assert ("评级原因" in page) == (language == "zh")
    assert ("家庭" in families) == (language == "zh")
    assert HEAD not in page + families
    assert mask_resident_id(HEAD) in page
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert waterfall(e, scorer.catalogue, language=language).startswith(b"\x89PNG")


def test_the_model_reports_grade_chart_keeps_the_chinese_grade_names() -> None:
    from creditscore.modeling import report

    assert not hasattr(report, "_ASCII_GRADE")  # the old dodge: 非信用户 drawn as "non-credit"
    frame = pd.DataFrame({"grade": ["AAA", "非信用户"], "count": [3, 1]})
    with charts.style():
        fig, ax = plt.subplots()
        ax.bar(list(frame["grade"]), frame["count"])
    assert "非信用户" in charts.svg(fig)
