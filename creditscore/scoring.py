"""The one scoring path: indicators → PD → grade → policy → loan terms, with reasons.

The CLI, the service, the rural batch and the notebooks all call :func:`score`
on a DataFrame of indicators (one row per subject), so a subject graded alone
and in a batch of a million gets the same PD, grade, terms and reasons.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np
import pandas as pd

from creditscore.decision import LINE_BASIS, decide_columns
from creditscore.explain import MEANING, REASON_COLUMNS, explain, reason_columns
from creditscore.features.catalogue import Catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.policy import Policy

__all__ = ["Scored", "decision_record", "decision_records", "score"]


class Scored:
    """Decisions (one row per subject) and their reasons (one row per reason).

    Held as arrays by column; the DataFrames are built when first asked for. A batch asks for them;
    the service's one-subject decision record reads the arrays and never pays for a frame.
    """

    def __init__(self, index: pd.Index, decisions: dict[str, np.ndarray], reasons: dict[str, np.ndarray]) -> None:
        self.index = index
        self.decision_columns = decisions
        self.reason_columns = reasons

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
    decisions = decide_columns(bundle.segment, features, pd_, policy=policy, scale=bundle.scale,
                               labels={"model_version": bundle.version_label, "catalogue_version": catalogue.version})
    return Scored(features.index, decisions, why)


def decision_record(scored: Scored, subject_id: str, *, as_of: object, segment: str) -> dict[str, object]:
    """What a regulator or the subject may later ask about one decision, as plain data."""
    return decision_records(scored, as_of=as_of, segment=segment, subjects=[subject_id])[subject_id]


def decision_records(scored: Scored, *, as_of: object, segment: str, subjects: list[str] | None = None
                     ) -> dict[str, dict[str, object]]:
    """:func:`decision_record` of every subject of ``scored`` (or of ``subjects``), by subject id.

    Built from plain Python values read once per column — not numpy scalars, which JSON (the audit log,
    ``--json``) would write as strings, and not one array look-up per subject and column.
    """
    position = {s: i for i, s in enumerate(scored.index)}
    wanted = list(scored.index) if subjects is None else subjects
    rows = [position[s] for s in wanted]  # KeyError for a subject that was not scored
    cols = {c: v[rows].tolist() for c, v in scored.decision_columns.items()}
    why = scored.reason_columns
    columns = [c for c in REASON_COLUMNS if c != "subject_id"]
    mine: dict[str, list[dict[str, object]]] = {s: [] for s in wanted}
    if why and len(why["subject_id"]):
        values = {c: why[c].tolist() for c in columns}
        for i, subject in enumerate(why["subject_id"].tolist()):
            if subject in mine:
                mine[subject].append({c: values[c][i] for c in columns})
    day = pd.Timestamp(as_of).date().isoformat()
    decided_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = {}
    for k, subject in enumerate(wanted):
        basis = cols["line_basis"][k]
        rate, term = cols["rate_adjustment_bp"][k], cols["max_term_months"][k]
        out[subject] = {
            "subject_id": subject, "segment": segment, "as_of": day, "decided_at": decided_at,
            "model_version": cols["model_version"][k], "policy_version": cols["policy_version"][k],
            "catalogue_version": cols["catalogue_version"][k],
            "pd": float(cols["pd"][k]), "score": float(cols["score"][k]), "model_grade": cols["model_grade"][k],
            "final_grade": cols["final_grade"][k],
            "overrides": [r for r in str(cols["overrides"][k]).split(";") if r],
            "red_list": [r for r in str(cols["red_list"][k]).split(";") if r],
            "loan_terms": {
                "eligible": bool(cols["eligible"][k]), "credit_line_yuan": float(cols["credit_line_yuan"][k]),
                "rate_adjustment_bp": None if math.isnan(rate) else int(rate),
                "max_term_months": None if math.isnan(term) else int(term),
                "basis": basis, "basis_zh": LINE_BASIS.get(basis, ("", ""))[0],
                "basis_en": LINE_BASIS.get(basis, ("", ""))[1],
            },
            "reasons": mine[subject],
            "meaning": MEANING,
        }
    return out
