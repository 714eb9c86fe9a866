"""Credit policy, as versioned configuration (``models/policy.yaml``).

This module holds the parts the feature pipeline needs — credit repair (信用修复)
and the treatment of records under objection (异议). Overrides and loan terms
join it with the policy issue.
"""

from __future__ import annotations

import enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from creditscore.config import load_yaml_model
from creditscore.schema import KINDS, FieldType

__all__ = ["ObjectionRule", "Policy", "RepairRule", "load_policy"]

POLICY_PATH = Path(__file__).resolve().parents[1] / "models" / "policy.yaml"


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


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    repair: list[RepairRule]
    objections: ObjectionRule = ObjectionRule()

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
    """Load and validate the policy file (default ``models/policy.yaml``)."""
    return load_yaml_model(path or POLICY_PATH, Policy)
