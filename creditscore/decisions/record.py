"""The decision record: one typed object from the scoring path to the response, the workbook, the audit line and
the report.

It is what a regulator or the subject may later ask about one decision (PIPL art. 24): the grades before and
after policy, the PD and score, the rules that moved the grade (as lists of rule ids, never a joined string),
the loan terms, the reasons and the versions of everything that decided. Built by
:func:`creditscore.decisions.scoring.decision_records`; serialised with :meth:`DecisionRecord.to_json`
(strict JSON: a missing value is ``null``, never ``NaN``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from creditscore.records.subjects import Segment

__all__ = ["DecisionRecord", "LoanTerms", "Reason"]


class Reason(BaseModel):
    """One indicator's contribution, in words."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["adverse", "favourable"]
    rank: int
    reason_code: str = Field(description="stable code: the indicator's id")
    indicator: str
    family: str
    contribution: float = Field(description="log-odds of default, relative to the average training subject")
    value: float | None = Field(description="the subject's own value of the indicator (None: no record)")
    text_zh: str
    text_en: str


class LoanTerms(BaseModel):
    """信易贷 terms from the policy: the line, the rate adjustment, the longest term, and why."""

    model_config = ConfigDict(frozen=True)

    eligible: bool
    credit_line_yuan: float
    rate_adjustment_bp: int | None = Field(description="basis points against the bank's base rate")
    max_term_months: int | None
    basis: str
    basis_zh: str
    basis_en: str


class DecisionRecord(BaseModel):
    """A grade with everything needed to act on it and to explain it."""

    model_config = ConfigDict(frozen=True)

    subject_id: str = Field(description="the normalised identifier (a resident ID in full: mask before showing)")
    segment: Segment
    as_of: str = Field(description="the date the indicators were computed at (ISO)")
    decided_at: str
    model_version: str
    policy_version: str
    catalogue_version: str
    pd: float = Field(description="calibrated 12-month probability of default")
    score: float
    model_grade: str
    final_grade: str = Field(description="the grade after the policy's overrides and red list")
    overrides: list[str] = Field(description="ids of the blacklist rules that applied")
    red_list: list[str] = Field(description="ids of the incentive rules that lifted the grade")
    loan_terms: LoanTerms
    reasons: list[Reason]
    meaning: dict[str, str] = Field(description="what the contributions mean, in Chinese and English")
    tax_grade: str | None = Field(None, description="the latest tax credit grade (firms), decoded by the catalogue")
    flags: dict[str, bool] = Field(default_factory=dict, description="the catalogue's lists: on one now?")
    data_as_of: str = Field(description="the data's as-of date (ISO)")

    def masked(self) -> DecisionRecord:
        """The same record with the subject as it may be shown (a person's ID masked)."""
        return self.model_copy(update={"subject_id": self.segment.display(self.subject_id)})

    def to_json(self) -> str:
        """Strict JSON of the masked record: what the audit log stores."""
        return to_json(self.masked(), inf_nan_mode="null").decode()
