"""Villages by name: the statistical division codes a roster leaves out, found from what it does say.

A committee's roster names its village (李家沟村), often only in the sheet's name or the title line
("石门乡李家沟村2025年农户信用评级登记表"), and never gives the 12-digit code the village is assessed under. An
assessor cannot look codes up. The store's household surveys hold the geography (county, township and village,
codes and names); a village is resolved by its name, narrowed by its township and county when the name is not
unique — from columns, the sheet name, the lines above the headers, or the assessor (``--township``,
``--village-code``). A village that still cannot be resolved is not a reason to refuse its households: they
are graded, and the village is assessed under its name with a note that its code is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

__all__ = ["Context", "Places", "context_from_text", "place_key"]

_HAN = r"[\u4e00-\u9fff]"
_VILLAGE_SUFFIXES = ("村民委员会", "村委会", "居民委员会", "居委会", "社区", "村")
_TOWNSHIP_SUFFIXES = ("街道办事处", "街道", "民族乡", "乡", "镇")
_COUNTY_SUFFIXES = ("自治县", "县", "区", "市", "旗")
_TOWNSHIP_IN_TEXT = re.compile(rf"({_HAN}{{1,8}}?(?:街道|乡|镇))")
_VILLAGE_IN_TEXT = re.compile(rf"({_HAN}{{1,8}}?(?:村民委员会|村委会|社区|村))")
_COUNTY_IN_TEXT = re.compile(rf"({_HAN}{{1,6}}?(?:自治县|县|区|旗))")
_NOT_PLACES = ("信用村", "信用乡", "信用镇", "农村", "行政村", "自然村")


def _base(name: object, suffixes: tuple[str, ...]) -> str:
    """A place's name without its administrative suffix (李家沟村 → 李家沟), for matching."""
    text = re.sub(r"\s", "", str(name)) if isinstance(name, str) else ""
    for suffix in suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[:-len(suffix)]
    return text


def place_key(name: str, kind: str) -> str:
    return _base(name, {"village": _VILLAGE_SUFFIXES, "township": _TOWNSHIP_SUFFIXES,
                        "county": _COUNTY_SUFFIXES}[kind])


@dataclass(frozen=True)
class Context:
    """What a sheet says about where it is, outside its rows: the sheet's name, its title, the assessor."""

    county: str | None = None
    township: str | None = None
    village: str | None = None
    village_code: str | None = None

    def merged(self, other: Context) -> Context:
        """This context with the gaps filled from ``other`` (the assessor's word comes first: merge it last)."""
        return Context(*(a or b for a, b in zip((self.county, self.township, self.village, self.village_code),
                                                (other.county, other.township, other.village, other.village_code),
                                                strict=True)))


def context_from_text(*texts: str) -> Context:
    """County, township and village named in a sheet's name or title lines (the first found of each)."""
    county = township = village = None
    for given in texts:
        text = re.sub(r"\s", "", given or "")
        for phrase in _NOT_PLACES:
            text = text.replace(phrase, "，")
        start = 0
        c = _COUNTY_IN_TEXT.search(text)
        if c and _TOWNSHIP_IN_TEXT.match(text, c.end()):  # "某某县石门镇…": the county before the township
            county = county or c.group(1)
            start = c.end()
        t = _TOWNSHIP_IN_TEXT.search(text, start)
        if t and township is None:
            township = t.group(1)
        rest = text[t.end():] if t else text
        v = _VILLAGE_IN_TEXT.match(rest) or _VILLAGE_IN_TEXT.search(rest)
        if v and village is None:
            village = v.group(1)
    return Context(county=county, township=township, village=village)


class Places:
    """The store's geography, looked up by name."""

    def __init__(self, places: pd.DataFrame) -> None:
        self.frame = places.dropna(subset=["village_code"]).drop_duplicates("village_code").reset_index(drop=True)
        self._by_village: dict[str, list[int]] = {}
        for i, name in enumerate(self.frame["village_name"]):
            self._by_village.setdefault(place_key(name, "village"), []).append(i)
        self._by_code = {str(r["village_code"]): {k: str(v) for k, v in r.items()}
                         for r in self.frame.to_dict("records")}
        self.townships = dict(zip(self.frame["township_code"], self.frame["township_name"], strict=True))
        self.counties = dict(zip(self.frame["county_code"], self.frame["county_name"], strict=True))

    def resolve(self, village: str | None, township: str | None = None,
                county: str | None = None) -> tuple[dict[str, str] | None, str | None]:
        """(the village's codes and names, None) or (None, why it could not be resolved)."""
        if not village:
            return None, "the file names no village"
        found = self._by_village.get(place_key(village, "village"), [])
        if township and len(found) > 1:
            found = self._narrow(found, "township_name", township, "township")
        if county and len(found) > 1:
            found = self._narrow(found, "county_name", county, "county")
        if len(found) == 1:
            return {k: str(v) for k, v in self.frame.iloc[found[0]].items()}, None
        if not found:
            return None, f"no village called {village} in the store's geography"
        where = "、".join(sorted({str(self.frame.at[i, "township_name"]) for i in found}))
        return None, f"{len(found)} villages are called {village} (in {where}): give the township (--township)"

    def _narrow(self, found: list[int], column: str, name: str, kind: str) -> list[int]:
        """The candidates in the place called ``name``: by its exact name first (石门乡 is not 石门镇), else by the
        name without its suffix; all of them when none is."""
        exact = [i for i in found if str(self.frame.at[i, column]) == name]
        loose = [i for i in found if place_key(self.frame.at[i, column], kind) == place_key(name, kind)]
        return exact or loose or found

    def by_code(self, code: str) -> dict[str, str] | None:
        """A village's codes and names from its code (the township and county from its first 9 and 6 digits)."""
        known = self._by_code.get(code)
        if known is not None:
            return known
        return {"village_code": code, "township_code": code[:9], "county_code": code[:6],
                "township_name": self.townships.get(code[:9], code[:9]),
                "county_name": self.counties.get(code[:6], code[:6])}
