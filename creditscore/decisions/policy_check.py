"""The policy against the catalogues and the scales: every indicator and grade a rule names must exist.

Kept apart from :mod:`creditscore.policy` (which only parses) because it needs the catalogues and the master
scales, which sit above the policy's lowest users (the feature engine's repair and objection rules).
"""

from __future__ import annotations

from pathlib import Path

from creditscore.errors import ConfigError
from creditscore.features.catalogue import load_catalogue
from creditscore.modeling.scales import load_scales
from creditscore.policy import POLICY_PATH, Policy, RedListRule, load_policy

__all__ = ["check_policy", "load_checked_policy"]


def load_checked_policy(path: str | Path | None = None) -> Policy:
    """Load the policy file and cross-check it against the catalogues and scales (:class:`ConfigError` names
    the file and the key)."""
    source = Path(path or POLICY_PATH)
    policy = load_policy(source)
    check_policy(policy, source)
    return policy


def check_policy(policy: Policy, source: Path) -> None:
    """Cross-check the policy against the catalogues and scales; :class:`ConfigError` names the key."""
    scales = load_scales().scales
    ids = {s: set(load_catalogue(s).ids) for s in ("sme", "household")}
    problems = []
    for section, rules in (("overrides", policy.overrides), ("red_list.rules", policy.red_list.rules)):
        for i, rule in enumerate(rules):
            for seg in rule.segments:
                for j, cond in enumerate(rule.when):
                    if cond.indicator not in ids[seg]:
                        problems.append(f"{section}[{i}].when[{j}].indicator: {cond.indicator!r} is not an "
                                        f"indicator of the {seg} catalogue")
            grades = {**getattr(rule, "cap", {})}
            if isinstance(rule, RedListRule):
                grades = dict.fromkeys(rule.segments, rule.best)
            for seg, grade in grades.items():
                if grade not in scales[seg].names:
                    problems.append(f"{section}[{i}]: {grade!r} is not a grade of the {seg} scale {scales[seg].names}")
    if policy.rural_assessment is not None:
        for grade in policy.rural_assessment.credit_grades:
            if grade not in scales["household"].names:
                problems.append(f"rural_assessment.credit_grades: {grade!r} is not a household grade")
    if policy.loan_terms is not None:
        for seg in ("sme", "household"):
            for grade in getattr(policy.loan_terms, seg).eligible_grades:
                if grade not in scales[seg].names:
                    problems.append(f"loan_terms.{seg}.eligible_grades: {grade!r} is not a grade of the {seg} scale")
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
