"""The one scoring path: indicators → PD → grade → policy → loan terms, with reasons.

The CLI, the service, the rural batch, the notebooks and the monitoring all reach :func:`score` through one
:class:`creditscore.decisions.scorer.Scorer`, on a DataFrame of indicators (one row per subject), so a
subject graded alone and in a batch of a million gets the same PD, grade, terms and reasons.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np
import pandas as pd

from creditscore.decisions.reasons import MEANING, REASON_COLUMNS, explain, reason_columns
from creditscore.decisions.record import DecisionRecord, LoanTerms, Reason
from creditscore.decisions.rules import LINE_BASIS, TAX_GRADE, decide_columns
from creditscore.features.catalogue import Catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.policy import Policy
from creditscore.records.subjects import Segment

__all__ = ["Scored", "decision_record", "decision_records", "score"]


class Scored:
    """Decisions (one row per subject) and their reasons (one row per reason).

    Held as arrays by column; the DataFrames are built when first asked for. A batch asks for them;
    the service's one-subject decision record reads the arrays and never pays for a frame.
    """

    def __init__(self, index: pd.Index, decisions: dict[str, np.ndarray], reasons: dict[str, np.ndarray],
                 flags: dict[str, np.ndarray] | None = None) -> None:
        self.index = index
        self.decision_columns = decisions
        self.reason_columns = reasons
        self.flags = flags or {}  # the catalogue's list indicators: on one now?

    @functools.cached_property
    def decisions(self) -> pd.DataFrame:
        return pd.DataFrame(self.decision_columns, index=self.index)

    @functools.cached_property
    def reasons(self) -> pd.DataFrame:
        return pd.DataFrame(self.reason_columns, columns=REASON_COLUMNS) if self.reason_columns else pd.DataFrame()


def score(bundle: ModelBundle, features: pd.DataFrame, *, catalogue: Catalogue, policy: Policy,
          with_reasons: bool = True, adverse: int = 3, favourable: int = 2) -> Scored:
    """Grade every row of ``features`` (indexed by subject id, columns the catalogue's indicators)."""
    if with_reasons:
        explanation = explain(bundle, features)
        pd_ = bundle.calibrator.predict(explanation.margin)  # one TreeSHAP pass gives the margin too
        why = reason_columns(explanation, catalogue, adverse=adverse, favourable=favourable)
    else:
        pd_ = bundle.calibrator.predict(bundle.margin(features))
        why = {}
    segment = Segment.of(bundle.segment)
    matrix = features.to_numpy(dtype=float) if len(features) < 1_000 else None  # few rows: one read, not per column

    def column(name: str) -> np.ndarray:
        return matrix[:, features.columns.get_loc(name)] if matrix is not None else features[name].to_numpy(float)

    tax = catalogue.by_id[TAX_GRADE].decode(column(TAX_GRADE)) if TAX_GRADE in catalogue.by_id else None
    decisions = decide_columns(segment, features, pd_, policy=policy, scale=bundle.scale, tax_grades=tax,
                               labels={"model_version": bundle.version_label, "catalogue_version": catalogue.version})
    decisions["tax_grade"] = tax if tax is not None else np.full(len(features), None, dtype=object)
    flags = {name: column(name) >= 1 for name in catalogue.flags}
    return Scored(features.index, decisions, why, flags)


def decision_record(scored: Scored, subject_id: str, *, as_of: object, segment: Segment | str) -> DecisionRecord:
    """What a regulator or the subject may later ask about one decision."""
    return decision_records(scored, as_of=as_of, segment=segment, subjects=[subject_id])[subject_id]


def decision_records(scored: Scored, *, as_of: object, segment: Segment | str, subjects: list[str] | None = None
                     ) -> dict[str, DecisionRecord]:
    """:func:`decision_record` of every subject of ``scored`` (or of ``subjects``), by subject id.

    Built from plain Python values read once per column — not numpy scalars, which JSON (the audit log,
    ``--json``) would write as strings, and not one array look-up per subject and column. The records are
    constructed without validation: every value comes from the scoring path's own typed columns.
    """
    segment = Segment.of(segment)
    position = {s: i for i, s in enumerate(scored.index)}
    wanted = list(scored.index) if subjects is None else subjects
    rows = [position[s] for s in wanted]  # KeyError for a subject that was not scored
    cols = {c: v[rows].tolist() for c, v in scored.decision_columns.items()}
    flags = {name: v[rows].tolist() for name, v in scored.flags.items()}
    why = scored.reason_columns
    columns = [c for c in REASON_COLUMNS if c != "subject_id"]
    mine: dict[str, list[Reason]] = {s: [] for s in wanted}
    if why and len(why["subject_id"]):
        values = {c: why[c].tolist() for c in columns}
        for i, subject in enumerate(why["subject_id"].tolist()):
            if subject in mine:
                fields = {c: values[c][i] for c in columns}
                if fields["value"] != fields["value"]:  # NaN: no record
                    fields["value"] = None
                mine[subject].append(Reason.model_construct(**fields))
    day = pd.Timestamp(as_of).date().isoformat()
    decided_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = {}
    for k, subject in enumerate(wanted):
        basis = cols["line_basis"][k]
        rate, term = cols["rate_adjustment_bp"][k], cols["max_term_months"][k]
        zh, en = LINE_BASIS.get(basis, ("", ""))
        terms = LoanTerms.model_construct(
            eligible=bool(cols["eligible"][k]), credit_line_yuan=float(cols["credit_line_yuan"][k]),
            rate_adjustment_bp=None if math.isnan(rate) else int(rate),
            max_term_months=None if math.isnan(term) else int(term), basis=basis, basis_zh=zh, basis_en=en)
        out[subject] = DecisionRecord.model_construct(
            subject_id=subject, segment=segment, as_of=day, decided_at=decided_at,
            model_version=cols["model_version"][k], policy_version=cols["policy_version"][k],
            catalogue_version=cols["catalogue_version"][k], pd=float(cols["pd"][k]), score=float(cols["score"][k]),
            model_grade=cols["model_grade"][k], final_grade=cols["final_grade"][k],
            overrides=list(cols["overrides"][k]), red_list=list(cols["red_list"][k]), loan_terms=terms,
            reasons=mine[subject], meaning=MEANING, tax_grade=cols["tax_grade"][k],
            flags={name: bool(v[k]) for name, v in flags.items()}, data_as_of=day)
    return out
