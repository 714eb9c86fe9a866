"""Credit policy, as versioned configuration (``models/policy.yaml``).

* credit repair (信用修复): how long negative records count, by kind and severity;
* objections (异议): how a record under objection is treated, and the answer deadline;
* overrides (失信惩戒): blacklists that cap the grade and withhold credit;
* red list (守信激励): favourable facts that lift the grade, within stated limits;
* loan terms (信易贷): eligibility, credit line, rate adjustment and term by grade.

Everything is validated on load (unknown keys, overlapping bands, indicators or
grades that do not exist) with the file, the key and the reason.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from creditscore.config import load_yaml_model
from creditscore.records.contracts import KINDS, FieldType
from creditscore.resources import MODELS_DIR

__all__ = ["ObjectionRule", "Policy", "RepairRule", "load_policy"]

POLICY_PATH = MODELS_DIR / "policy.yaml"


class RepairRule(BaseModel):
    """How long a negative record counts, and when an early repair takes effect.

    A record stops counting at the earlier of ``start + disclose_days`` and, when a
    repair is recorded in ``repaired_field``, ``max(repair date, event + repair_after_days)``;
    ``start`` is ``from_field`` when set (e.g. the day arrears were cured), else the event date.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    severity: str | None = Field(None, description="only records of this severity (penalties)")
    disclose_days: int = Field(gt=0)
    from_field: str | None = Field(None, description="date the period runs from (default: the event date)")
    fallback_to_event: bool = Field(True, description="when from_field is empty: run from the event date "
                                    "(true) or never expire, the behaviour not having ended (false)")
    repaired_field: str | None = None
    repair_after_days: int = Field(0, ge=0)
    basis: str = ""

    @model_validator(mode="after")
    def _known(self) -> RepairRule:
        kind = KINDS.get(self.kind)
        if kind is None:
            raise ValueError(f"unknown record kind {self.kind!r}")
        for name in (self.from_field, self.repaired_field):
            if name is not None and (name not in {f.name for f in kind.fields}
                                     or kind.get_field(name).type is not FieldType.DATE):
                raise ValueError(f"{self.kind} has no date field {name!r}")
        if self.repair_after_days > self.disclose_days:
            raise ValueError("repair_after_days exceeds disclose_days: early repair could never happen early")
        return self


class PendingTreatment(enum.StrEnum):
    EXCLUDE = "exclude"  # the record does not count while it is being verified
    INCLUDE = "include"


class ObjectionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pending: PendingTreatment = PendingTreatment.EXCLUDE
    answer_within_days: int = Field(20, gt=0)


Segment = Literal["sme", "household"]
_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "==": np.equal, ">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
}


class Condition(BaseModel):
    """``indicator op value``; a missing indicator value never satisfies a condition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str
    op: Literal["==", ">=", ">", "<=", "<"]
    value: float

    def holds(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return _OPS[self.op](values, self.value) & ~np.isnan(values)


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str


class _Rule(BaseModel):
    """A policy rule: which subjects it concerns, when it holds (all conditions), and why, in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    segments: list[Segment] = Field(min_length=1)
    when: list[Condition] = Field(min_length=1)
    reason: Text


class OverrideRule(_Rule):
    """A blacklist fact: caps the grade and may make the subject ineligible for credit."""

    ineligible: bool = False
    cap: dict[Segment, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cap_per_segment(self) -> OverrideRule:
        missing = [s for s in self.segments if s not in self.cap]
        if missing and not self.ineligible:
            raise ValueError(f"rule {self.id!r} neither caps the grade for {missing} nor makes them ineligible")
        return self


class RedListRule(_Rule):
    """A red-list fact: lifts the grade by ``uplift`` notches, never above ``best``."""

    uplift: int = Field(ge=1, le=3)
    best: str


class RedList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_total_uplift: int = Field(ge=0, le=3)
    rules: list[RedListRule] = Field(default_factory=list)


class SmeLoanTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    eligible_grades: list[str] = Field(min_length=1)
    tax_grades: list[Literal["A", "B", "M", "C", "D"]]
    taxes_multiple: dict[Literal["A", "B", "M", "C", "D"], float]
    grade_cap_yuan: dict[str, int]
    product_cap_yuan: int = Field(gt=0)
    rate_adjustment_bp: dict[str, int]
    max_term_months: dict[str, int]

    @model_validator(mode="after")
    def _maps_cover_the_grades(self) -> SmeLoanTerms:
        _same_grades("sme", self.eligible_grades, grade_cap_yuan=self.grade_cap_yuan,
                     rate_adjustment_bp=self.rate_adjustment_bp, max_term_months=self.max_term_months)
        if set(self.taxes_multiple) != set(self.tax_grades):
            raise ValueError("taxes_multiple must give a multiple for exactly the tax_grades")
        return self


class LineBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lower: float
    upper: float
    line_yuan: int = Field(ge=0)


class HouseholdLoanTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    eligible_grades: list[str] = Field(min_length=1)
    line_bands: list[LineBand] = Field(min_length=1)
    rate_adjustment_bp: dict[str, int]
    max_term_months: dict[str, int]

    @model_validator(mode="after")
    def _bands(self) -> HouseholdLoanTerms:
        _same_grades("household", self.eligible_grades, rate_adjustment_bp=self.rate_adjustment_bp,
                     max_term_months=self.max_term_months)
        bands = sorted(self.line_bands, key=lambda b: b.lower)
        for b in bands:
            if not b.lower < b.upper:
                raise ValueError(f"line band {b.lower}–{b.upper}: lower must be below upper")
        for lo, hi in itertools.pairwise(bands):
            if lo.upper > hi.lower:
                raise ValueError(f"line bands {lo.lower}–{lo.upper} and {hi.lower}–{hi.upper} overlap")
            if lo.upper < hi.lower:
                raise ValueError(f"line bands {lo.lower}–{lo.upper} and {hi.lower}–{hi.upper} leave a gap")
            if lo.line_yuan > hi.line_yuan:
                raise ValueError(f"a higher score band ({hi.lower}–{hi.upper}) must not get a smaller line")
        return self


class LoanTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sme: SmeLoanTerms
    household: HouseholdLoanTerms


def _same_grades(segment: str, grades: list[str], **maps: dict[str, object]) -> None:
    if len(set(grades)) != len(grades):
        raise ValueError(f"{segment}: eligible_grades repeat a grade")
    for name, mapping in maps.items():
        if set(mapping) != set(grades):
            raise ValueError(f"{segment}: {name} must cover exactly the eligible grades {grades}, "
                             f"it covers {sorted(mapping)}")


class VillageCriteria(BaseModel):
    """Thresholds of the credit village (信用村) and credit township (信用乡镇) assessment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credit_household_share: float = Field(ge=0, le=1)
    on_time_repayment: float = Field(ge=0, le=1)
    npl_ratio: float = Field(ge=0, le=1)
    credit_village_share: float = Field(ge=0, le=1)


class RuralAssessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credit_grades: list[str] = Field(min_length=1)
    #: A village (or township) is assessed only when at least this share of its listed households was graded:
    #: one graded household of a hundred says nothing about the village.
    min_graded_share: float = Field(gt=0, le=1)
    default: VillageCriteria
    regions: dict[str, VillageCriteria] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _region_codes(self) -> RuralAssessment:
        bad = [code for code in self.regions if not (code.isdigit() and len(code) in (6, 9, 12))]
        if bad:
            raise ValueError(f"regions must be 6-, 9- or 12-digit division codes, got {bad}")
        return self

    def criteria_for(self, code: str) -> VillageCriteria:
        """The most specific region's criteria that covers ``code`` (a village or township code)."""
        matches = [c for c in self.regions if code.startswith(c)]
        return self.regions[max(matches, key=len)] if matches else self.default


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    repair: list[RepairRule]
    objections: ObjectionRule = ObjectionRule()
    overrides: list[OverrideRule] = Field(default_factory=list)
    red_list: RedList = RedList(max_total_uplift=0)
    loan_terms: LoanTerms | None = None
    rural_assessment: RuralAssessment | None = None

    @model_validator(mode="after")
    def _one_rule_per_case(self) -> Policy:
        seen: set[tuple[str, str | None]] = set()
        for rule in self.repair:
            key = (rule.kind, rule.severity)
            if key in seen:
                raise ValueError(f"two repair rules for {rule.kind} {rule.severity or ''}".strip())
            seen.add(key)
        return self


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate the policy file (default ``models/policy.yaml``): its structure, strictly.

    Whether every indicator and grade it names exists is checked where a policy meets a catalogue and a
    scale, when a scorer is assembled (:func:`creditscore.decisions.policy_check.load_checked_policy`): the
    feature engine below needs only the repair and objection rules, and must not load the catalogues to read
    them.
    """
    return load_yaml_model(Path(path or POLICY_PATH), Policy)
