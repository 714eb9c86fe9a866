"""The one scoring path: indicators → PD → grade → policy → loan terms, with reasons.

The CLI, the service, the rural batch and the notebooks all call :func:`score`
on a DataFrame of indicators (one row per subject), so a subject graded alone
and in a batch of a million gets the same PD, grade, terms and reasons.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd

from creditscore.decision import LINE_BASIS, decide_columns
from creditscore.explain import MEANING, REASON_COLUMNS, explain, reason_columns
from creditscore.features.catalogue import Catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.policy import Policy

__all__ = ["Scored", "decision_record", "score"]


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
    position = scored.index.get_loc(subject_id)
    row = {c: v[position] for c, v in scored.decision_columns.items()}
    why = scored.reason_columns
    columns = [c for c in REASON_COLUMNS if c != "subject_id"]
    mine = np.flatnonzero(why["subject_id"] == subject_id) if why else np.array([], dtype=int)
    # Python values, not numpy scalars: JSON (the audit log, ``--json``) writes a numpy int as a string.
    reasons = [dict(zip(columns, values, strict=True))
               for values in zip(*(why[c][mine].tolist() for c in columns), strict=True)] if len(mine) else []
    basis = row["line_basis"]
    return {
        "subject_id": subject_id, "segment": segment, "as_of": pd.Timestamp(as_of).date().isoformat(),
        "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_version": row["model_version"], "policy_version": row["policy_version"],
        "catalogue_version": row["catalogue_version"],
        "pd": float(row["pd"]), "score": float(row["score"]), "model_grade": row["model_grade"],
        "final_grade": row["final_grade"],
        "overrides": [r for r in str(row["overrides"]).split(";") if r],
        "red_list": [r for r in str(row["red_list"]).split(";") if r],
        "loan_terms": {
            "eligible": bool(row["eligible"]), "credit_line_yuan": float(row["credit_line_yuan"]),
            "rate_adjustment_bp": None if pd.isna(row["rate_adjustment_bp"]) else int(row["rate_adjustment_bp"]),
            "max_term_months": None if pd.isna(row["max_term_months"]) else int(row["max_term_months"]),
            "basis": basis, "basis_zh": LINE_BASIS.get(basis, ("", ""))[0],
            "basis_en": LINE_BASIS.get(basis, ("", ""))[1],
        },
        "reasons": reasons,
        "meaning": MEANING,
    }
