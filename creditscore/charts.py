"""Charts for HTML reports: inline SVG whose text the reader's browser draws.

Servers rarely have CJK fonts, so matplotlib cannot draw 非信用户 or a village's name;
with ``svg.fonttype = none`` text stays text in the SVG, named in CJK-capable families
first, and the browser that opens the report draws it with its own fonts.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["svg", "text_as_text"]

_RC = {"svg.fonttype": "none", "font.family": "sans-serif",
       "font.sans-serif": ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimHei",
                           "DejaVu Sans"]}


@contextlib.contextmanager
def text_as_text() -> Iterator[None]:
    """Make charts inside this block with text kept as text (and no missing-glyph warnings)."""
    with mpl.rc_context(_RC), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs and fonts the browser, not matplotlib, will supply
        yield


def svg(fig: plt.Figure) -> str:
    """The figure as an ``<svg>`` element to inline into HTML; closes the figure."""
    buf = io.StringIO()
    with text_as_text():
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue
