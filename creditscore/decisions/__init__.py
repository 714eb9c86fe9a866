"""Decisions: the one scoring path from indicators to a grade, its reasons, the policy's rules and the record.

Pure: nothing here reads the store. A :class:`Scorer` (bundle + catalogue + policy + scale) turns indicators
into :class:`DecisionRecord` objects; :mod:`creditscore.service.models` says which scorer every door uses.
"""

from creditscore.decisions.record import DecisionRecord, LoanTerms, Reason
from creditscore.decisions.scorer import ModelRef, Scorer, load_scorer, resolve_ref
from creditscore.decisions.scoring import Scored, decision_record, decision_records, score

__all__ = ["DecisionRecord", "LoanTerms", "ModelRef", "Reason", "Scored", "Scorer", "decision_record",
           "decision_records", "load_scorer", "resolve_ref", "score"]
