"""A region tree of counties → townships → villages with real-format division codes.

County codes are real GB/T 2260 codes (the districts and cities whose credit
plans are in ``shared/seeds``); township (9-digit) and village (12-digit)
codes follow the statistical division code format: a town's 3 digits start
with 1, a township's with 2; a village committee's with 2. Names are made up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["COUNTIES", "make_regions"]

#: Real county-level division codes with their names (from the seed documents' places).
COUNTIES: list[tuple[str, str]] = [
    ("410882", "沁阳市"),
    ("130111", "栾城区"),
    ("370306", "周村区"),
    ("512002", "雁江区"),
    ("410102", "中原区"),
    ("410883", "孟州市"),
    ("130183", "晋州市"),
    ("370303", "张店区"),
]

_PLACE = list("东西南北上下前后大小新老高王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈"
              "曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段")
_SUFFIX = ["庄", "营", "屯", "店", "寨", "集", "桥", "河", "沟", "岭", "坡", "湾", "堡", "口", "铺", "园"]


def _names(rng: np.random.Generator, n: int, ending: str, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        name = "".join(rng.choice(_PLACE, 2)) + rng.choice(_SUFFIX) + ending
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def make_regions(rng: np.random.Generator, n_villages: int, *, counties: int | None = None) -> pd.DataFrame:
    """One row per village with its township and county (codes and names).

    The number of counties grows with the population (about 200 villages a county,
    at most the 8 listed); each county has townships of 8–25 villages.
    """
    n_counties = counties or int(np.clip(round(n_villages / 200), 1, len(COUNTIES)))
    per_county = np.full(n_counties, n_villages // n_counties)
    per_county[: n_villages % n_counties] += 1
    rows = []
    taken: set[str] = set()
    for (county_code, county_name), villages in zip(COUNTIES[:n_counties], per_county, strict=False):
        sizes: list[int] = []
        while sum(sizes) < villages:
            sizes.append(int(rng.integers(8, 26)))
        sizes[-1] -= sum(sizes) - villages
        if sizes[-1] <= 0:
            sizes.pop()
            sizes[-1] += villages - sum(sizes)
        town_names = _names(rng, len(sizes), "", taken)
        for t, (size, tname) in enumerate(zip(sizes, town_names, strict=True)):
            is_town = t % 3 != 2  # two towns (镇) for each township (乡)
            township_code = f"{county_code}{(100 if is_town else 200) + t + 1:03d}"
            township_name = tname + ("镇" if is_town else "乡")
            for v, vname in enumerate(_names(rng, size, "村", taken)):
                rows.append((county_code, county_name, township_code, township_name,
                             f"{township_code}{200 + v + 1:03d}", vname))
    return pd.DataFrame(rows, columns=["county_code", "county_name", "township_code", "township_name",
                                       "village_code", "village_name"])
