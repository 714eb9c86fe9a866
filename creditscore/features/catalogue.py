"""The indicator catalogue (指标体系): declared in ``features/*.yaml``, validated strictly here.

Each indicator says what it is (ids, names, family, unit), how it is computed
(source record kind, aggregation, window, filters), which way risk goes (a
LightGBM monotone constraint) and how to explain it to a person (reason
templates in Chinese and English). Adding an indicator is a YAML edit plus a test.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import string
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from creditscore.config import load_yaml_model
from creditscore.errors import InvalidCode
from creditscore.records.contracts import KINDS, SubjectType
from creditscore.records.subjects import Segment
from creditscore.resources import FEATURES_DIR

__all__ = ["Aggregation", "Catalogue", "Compute", "Direction", "Family", "Indicator", "Phrase", "Reason", "Within",
           "load_catalogue", "model_hash"]


class Direction(enum.StrEnum):
    """How default risk moves as the indicator grows."""

    INCREASING = "increasing"
    DECREASING = "decreasing"
    NONE = "none"

    @property
    def monotone(self) -> int:
        """LightGBM's monotone constraint: +1 risk rises with the value, −1 it falls, 0 free."""
        return {"increasing": 1, "decreasing": -1, "none": 0}[self.value]


class Family(enum.StrEnum):
    TAX = "tax"
    WAGES = "wages"
    PENALTIES = "penalties"
    CONTRACTS = "contracts"
    COURTS_AND_LISTS = "courts_and_lists"
    SOCIAL_INSURANCE_AND_UTILITIES = "social_insurance_and_utilities"
    LOANS = "loans"
    FIRM_PROFILE = "firm_profile"
    HOUSEHOLD_FINANCES = "household_finances"
    HOUSEHOLD_PROFILE = "household_profile"

    @property
    def zh(self) -> str:
        """The family's name for a Chinese reader (charts, reports)."""
        return _FAMILY_ZH[self]

    @property
    def en(self) -> str:
        return self.value.replace("_", " ")


_FAMILY_ZH = {
    Family.TAX: "纳税", Family.WAGES: "工资支付", Family.PENALTIES: "行政处罚", Family.CONTRACTS: "合同履约",
    Family.COURTS_AND_LISTS: "司法与失信名单", Family.SOCIAL_INSURANCE_AND_UTILITIES: "社保与水电气缴费",
    Family.LOANS: "信贷", Family.FIRM_PROFILE: "企业概况", Family.HOUSEHOLD_FINANCES: "家庭收支与资产",
    Family.HOUSEHOLD_PROFILE: "家庭基本情况",
}


class Aggregation(enum.StrEnum):
    COUNT = "count"  # records in the window (matching the filters)
    SUM = "sum"  # sum of a field over the window (money in yuan)
    MAX = "max"  # largest value of a field over the window
    DAYS_SINCE = "days_since"  # days from the latest record's date to the as-of date
    ACTIVE = "active"  # 1 if a record is in force at the as-of date (start ≤ t < end)
    LATEST = "latest"  # the latest record's field (optionally encoded)
    TREND = "trend"  # latest encoded value minus the one `lag` records earlier
    GROWTH = "growth"  # latest value / value `lag` records earlier − 1
    SHARE = "share"  # share of window records matching `where` (or of their `weight`)
    ATTRIBUTE = "attribute"  # a field of the subject itself (optionally transformed)
    SURVEY = "survey"  # an expression over the latest household survey
    MAX_ELAPSED = "max_elapsed"  # max over episodes of min(field, days elapsed since `date`): what was known


_ZERO_WHEN_NONE = {Aggregation.COUNT, Aggregation.SUM, Aggregation.ACTIVE}


class Compute(BaseModel):
    """How an indicator is computed from one record kind, as of a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Aggregation
    source: str
    field: str | None = None
    date: str | None = Field(None, description="date placing a record in the window (default: event date)")
    window_days: int | None = Field(None, gt=0)
    where: dict[str, list[str]] = Field(default_factory=dict)
    empty: list[str] = Field(default_factory=list, description="fields that must be empty as of the date")
    start: str | None = None
    end: str | None = None
    order: str | None = None
    encode: dict[str, float] | None = None
    lag: int = Field(1, ge=1)
    expr: str | None = None
    transform: Literal["age_years", "birth_age_years"] | None = None
    weight: str | None = None
    categorical: bool = False
    missing: Literal["zero", "nan"] | None = None

    @property
    def fill_zero(self) -> bool:
        """Whether a subject with no matching record gets 0 (no event happened) or NaN (unknown)."""
        return self.missing == "zero" if self.missing else self.kind in _ZERO_WHEN_NONE

    @model_validator(mode="after")
    def _fields_exist(self) -> Compute:
        kind = KINDS.get(self.source)
        if kind is None:
            raise ValueError(f"unknown source record kind {self.source!r}; expected one of {', '.join(KINDS)}")
        names = {f.name for f in kind.fields}
        used = [self.field, self.date, self.start, self.end, self.order, self.weight, *self.where, *self.empty]
        for name in used:
            if name is not None and name not in names:
                raise ValueError(f"{self.source} has no field {name!r}; its fields are {', '.join(sorted(names))}")
        needs_field = {Aggregation.SUM, Aggregation.MAX, Aggregation.LATEST, Aggregation.TREND, Aggregation.GROWTH,
                       Aggregation.MAX_ELAPSED}
        if self.kind in needs_field and self.field is None:
            raise ValueError(f"aggregation {self.kind.value!r} needs a field")
        if self.kind is Aggregation.ACTIVE and (self.start is None or self.end is None):
            raise ValueError("aggregation 'active' needs start and end fields")
        if self.kind is Aggregation.SURVEY and self.expr is None:
            raise ValueError("aggregation 'survey' needs an expr over the survey's fields")
        if self.kind is Aggregation.ATTRIBUTE and self.field is None:
            raise ValueError("aggregation 'attribute' needs a field")
        if self.kind is Aggregation.SHARE and not self.where:
            raise ValueError("aggregation 'share' needs a where filter (the share of what)")
        return self

    def date_field(self) -> str:
        return self.date or KINDS[self.source].event_date or "published_on"


class Phrase(BaseModel):
    """A sentence in both languages, with ``{value}`` as in :class:`Reason`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str


class Within(BaseModel):
    """The values for which a kind of reason may be given: ``above`` / ``below`` are strict, ``never`` is never.

    A contribution is relative to the average subject, so the model can push a value the wrong way for words: a
    household without debts may still sit above the average on one indicator. These bounds say which values
    *can* be a deduction (or a strength) at all, so "未结清贷款合计0元" is never listed as a deduction.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    above: float | None = None
    below: float | None = None
    never: bool = False

    def mask(self, values: np.ndarray) -> np.ndarray:
        if self.never:
            return np.zeros(values.shape, dtype=bool)
        ok = ~np.isnan(values)
        if self.above is not None:
            ok &= values > self.above
        if self.below is not None:
            ok &= values < self.below
        return ok


class Reason(BaseModel):
    """Reason templates: ``{value}`` is the subject's own value, with a format spec where useful.

    For coded indicators (flags, grades, classes) ``labels_zh`` / ``labels_en`` turn
    the code into words first — a flag's 0 and 1 need different sentences. ``adverse`` and ``favourable``
    word the same fact as a deduction or a strength ("家庭年收入偏低（35,000元）"); ``zero`` words a value of
    0 ("近五年无贷款违约"); ``adverse_when`` / ``favourable_when`` bound the values each kind may be given for
    (by default a monotone indicator's 0 is never on its adverse side: no arrears is not a deduction).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str
    labels_zh: dict[int, str] | None = None
    labels_en: dict[int, str] | None = None
    adverse: Phrase | None = None
    favourable: Phrase | None = None
    zero: Phrase | None = None
    adverse_when: Within | None = None
    favourable_when: Within | None = None

    @model_validator(mode="after")
    def _only_value(self) -> Reason:
        for text in self._templates():
            fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
            names = {name for name, _ in fields}
            if names - {"value"}:
                raise ValueError(f"reason template {text!r} may only use {{value}}, found {sorted(names)}")
            if self.labels_zh is not None and any(spec for _, spec in fields):
                raise ValueError(f"reason template {text!r}: with labels, {{value}} is a word and takes no format")
        if (self.labels_zh is None) != (self.labels_en is None) or (
                self.labels_zh is not None and set(self.labels_zh) != set(self.labels_en or {})):
            raise ValueError("labels_zh and labels_en must label the same codes")
        return self

    def _templates(self) -> list[str]:
        out = [self.zh, self.en]
        for phrase in (self.adverse, self.favourable, self.zero):
            if phrase is not None:
                out += [phrase.zh, phrase.en]
        return out

    def render(self, language: str, value: float, kind: str | None = None) -> str | None:
        """The sentence for ``value`` in ``language`` ("zh" or "en") as a ``kind`` of reason (adverse /
        favourable, or None for the plain fact); None when the value is missing."""
        if math.isnan(value):  # no record
            return None
        phrase: Phrase | BaseModel = self
        if value == 0 and self.zero is not None:
            phrase = self.zero
        elif kind == "adverse" and self.adverse is not None:
            phrase = self.adverse
        elif kind == "favourable" and self.favourable is not None:
            phrase = self.favourable
        template = phrase.zh if language == "zh" else phrase.en  # type: ignore[attr-defined]
        labels = self.labels_zh if language == "zh" else self.labels_en
        if labels is not None:
            return template.format(value=labels.get(round(value), f"{value:g}"))
        return template.format(value=value)


class Indicator(BaseModel):
    """One indicator of the catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    name_zh: str
    name_en: str
    family: Family
    unit: str
    direction: Direction
    compute: Compute
    reason: Reason
    description: str = ""

    def may_be(self, kind: str, values: np.ndarray) -> np.ndarray:
        """Which ``values`` may be given as a ``kind`` ("adverse" / "favourable") reason of this indicator.

        The declared bounds if any; otherwise by direction, a monotone indicator's 0 (no arrears, no listings;
        no income) is never on its good side for "increasing" nor a strength for "decreasing". A missing value
        ("no record") may be either: the model learned what a missing record means.
        """
        declared = self.reason.adverse_when if kind == "adverse" else self.reason.favourable_when
        values = np.asarray(values, dtype=float)
        if declared is not None:
            return declared.mask(values)
        missing = np.isnan(values)
        if kind == "adverse" and self.direction is Direction.INCREASING:
            return missing | (values > 0)
        if kind == "favourable" and self.direction is Direction.DECREASING:
            return missing | (values > 0)
        return np.ones(values.shape, dtype=bool)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The record values behind encoded codes (``encode: {A: 0, B: 1, …}`` read backwards); None if missing.

        Several values encoded alike (a 0/1 recoding) decode to the first declared.
        """
        table: dict[float, str] = {}
        for value, code in (self.compute.encode or {}).items():
            table.setdefault(float(code), value)
        values = np.asarray(codes, float)
        distinct, inverse = np.unique(values, return_inverse=True)  # a few codes, however many subjects
        words = np.array([None if math.isnan(c) else table.get(c) for c in distinct.tolist()], dtype=object)
        return words[inverse.reshape(-1)] if len(values) else np.empty(0, dtype=object)


class Catalogue(BaseModel):
    """A segment's indicator catalogue, in the order the model sees its columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalogue: Literal["sme", "household"]
    version: str
    subject: SubjectType
    indicators: list[Indicator] = Field(min_length=1)
    hash: str = Field("", description="set by the loader: SHA-256 of what the model depends on (see model_hash)")

    @model_validator(mode="after")
    def _unique_and_consistent(self) -> Catalogue:
        seen: set[str] = set()
        for ind in self.indicators:
            if ind.id in seen:
                raise ValueError(f"indicator id {ind.id!r} is declared twice")
            seen.add(ind.id)
            source = KINDS[ind.compute.source]
            if source.subject is not None and source.subject is not self.subject:
                raise ValueError(f"indicator {ind.id!r}: {source.name} records are not about {self.subject.value}s")
        return self

    @cached_property
    def ids(self) -> list[str]:
        return [i.id for i in self.indicators]

    @cached_property
    def by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @property
    def monotone_constraints(self) -> list[int]:
        return [i.direction.monotone for i in self.indicators]

    @property
    def categorical(self) -> list[str]:
        return [i.id for i in self.indicators if i.compute.categorical]

    @cached_property
    def flags(self) -> list[str]:
        """Indicators that say whether a subject is on a list now (computed as ``active``): shown as flags."""
        return [i.id for i in self.indicators if i.compute.kind is Aggregation.ACTIVE]

    @property
    def segment(self) -> Segment:
        return Segment.of(self.catalogue)

    def sources(self) -> set[str]:
        """Record kinds the catalogue reads (objections are always read too)."""
        return {i.compute.source for i in self.indicators}


def load_catalogue(segment: Segment | str, folder: str | Path | None = None) -> Catalogue:
    """Load ``features/<segment>.yaml``; errors name the file, line and key."""
    from creditscore.errors import ConfigError

    try:
        segment = Segment.of(segment).value
    except InvalidCode as exc:
        raise ConfigError(str(exc)) from None
    path = Path(folder or FEATURES_DIR) / f"{segment}.yaml"
    cat = load_yaml_model(path, Catalogue)
    if cat.catalogue != segment:
        raise ConfigError(f"{path}: declares catalogue {cat.catalogue!r}, expected {segment!r}")
    return cat.model_copy(update={"hash": model_hash(cat)})


def model_hash(cat: Catalogue) -> str:
    """SHA-256 of what a model trained on the catalogue depends on: its indicators' ids, order, directions
    and computations — not their names, units or reason wording, so rewording a reason keeps the models."""
    body = {"catalogue": cat.catalogue, "subject": cat.subject.value,
            "indicators": [{"id": i.id, "direction": i.direction.value,
                            "compute": i.compute.model_dump(mode="json", exclude_none=True)}
                           for i in cat.indicators]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
