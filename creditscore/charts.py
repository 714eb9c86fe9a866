"""Every chart the product draws, one way: matplotlib with Chinese text, as SVG for pages or PNG where a raster
is wanted.

Assessors and analysts read Chinese (非信用户, a village's name, 纳税信用等级), so every chart names a CJK-capable
family first. Inline SVG (the batch, monitoring and model reports) keeps its text as text: the reader's browser
draws it with its own fonts, whatever the server has. A PNG (the explanation charts) is drawn here, so the server
needs a CJK font: Debian's ``fonts-noto-cjk`` (``.ci/run`` installs it); without one, matplotlib warns of each
missing glyph and :func:`cjk_font` says what to install.
"""

from __future__ import annotations

import base64
import contextlib
import io
import warnings
from collections.abc import Iterator
from functools import cache

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

__all__ = ["CJK_FAMILIES", "cjk_font", "png", "png_base64", "style", "svg"]

#: Sans-serif families with Chinese glyphs, most wanted first; matplotlib falls back along the list per glyph.
CJK_FAMILIES = ["Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "PingFang SC",
                "Microsoft YaHei", "SimHei", "DejaVu Sans"]

_RC = {"font.family": "sans-serif", "font.sans-serif": CJK_FAMILIES, "svg.fonttype": "none",
       "axes.unicode_minus": False}  # CJK fonts lack U+2212: a plain hyphen-minus reads the same


@cache
def cjk_font() -> str | None:
    """The file of the first CJK family installed here, or None (then PNG charts show boxes for Chinese)."""
    for family in CJK_FAMILIES[:-1]:
        try:
            return font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
    return None


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Draw the charts made inside this block with the product's fonts."""
    with mpl.rc_context(_RC):
        yield


def svg(fig: plt.Figure) -> str:
    """The figure as an ``<svg>`` element to inline into HTML, text kept as text; closes the figure."""
    buf = io.StringIO()
    with style(), warnings.catch_warnings():
        # without a CJK font here the text is measured with another's metrics; the browser still draws it right
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue


def png(fig: plt.Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, Chinese drawn with the CJK font found here; closes the figure."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def png_base64(fig: plt.Figure, *, dpi: int = 110) -> str:
    """:func:`png`, base64-encoded for an ``<img src="data:image/png;base64,…">``."""
    return base64.b64encode(png(fig, dpi=dpi)).decode()
