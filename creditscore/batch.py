"""Batch grading of a household file (CSV / XLSX / Parquet): every input row comes back, scored or explained.

A village assessor's file holds household survey rows (户主姓名, 身份证号, 村, 家庭人口, 年收入, …).
Each valid row is graded with the household's other records from the store (court
listings, utility arrears, loans) as of the given date; each invalid row is
returned with its row number, column and reason. Scored + rejected = input rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from creditscore.ids import mask_resident_id
from creditscore.parsing import map_headers, parse_records
from creditscore.readers import read_chunks
from creditscore.schema import KINDS

__all__ = ["BatchResult", "grade_household_file"]


@dataclass
class BatchResult:
    results: pd.DataFrame  # one row per scored input row
    errors: pd.DataFrame  # one row per problem: row, column, value, reason
    rows: int

    @property
    def rejected_rows(self) -> int:
        return int(self.errors["row"].nunique()) if len(self.errors) else 0


def grade_household_file(service, path: str | Path, *, as_of: dt.date | None = None,
                         progress: Callable[[int, int], None] | None = None) -> BatchResult:
    """Grade every household row of ``path`` with ``service`` (a :class:`creditscore.service.GradingService`)."""
    from creditscore.features import compute_features, store_records
    from creditscore.scoring import score

    kind = KINDS["households"]
    t = pd.Timestamp(as_of or dt.date.today())
    chunks = list(read_chunks(path))
    raw = pd.concat([c.frame for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    rows = [int(r) for c in chunks for r in c.row_numbers]
    total = len(raw)
    mapping = map_headers(kind, list(raw.columns))
    parsed = parse_records(kind, raw[list(mapping)].rename(columns=mapping), row_numbers=rows,
                           headers={v: c for c, v in mapping.items()})
    clean = parsed.clean.copy()
    clean["_row"] = [rows[i] for i in clean.index]
    if progress:
        progress(0, total)
    results = pd.DataFrame()
    if len(clean):
        heads = clean["head_id"].astype(str).unique().tolist()
        catalogue = service.catalogues["household"]
        stored = store_records(service.store, catalogue, as_of=t, subjects=heads)
        # the file's own survey rows are the freshest facts: they stand beside any stored surveys
        stored["households"] = pd.concat([stored["households"], clean.drop(columns=["_row"])], ignore_index=True)
        features = compute_features(catalogue, stored, t, service.policy, subjects=heads)
        scored = score(service.active["household"].bundle, features, catalogue=catalogue, policy=service.policy)
        top = scored.reasons[scored.reasons["kind"] == "adverse"].groupby("subject_id")["text_zh"].agg("；".join)
        d = scored.decisions
        per_head = pd.DataFrame({
            "grade": d["final_grade"], "model_grade": d["model_grade"], "score": d["score"].round(2),
            "pd": d["pd"].round(6), "overrides": d["overrides"], "eligible": d["eligible"],
            "credit_line_yuan": d["credit_line_yuan"], "rate_adjustment_bp": d["rate_adjustment_bp"],
            "reasons_zh": top.reindex(d.index).fillna(""),
        })
        results = clean[["_row", "head_id", "head_name", "village_code", "village_name"]].rename(
            columns={"_row": "row"}).join(per_head, on="head_id")
        results["head_id"] = results["head_id"].map(mask_resident_id)
        results["model_version"] = d["model_version"].iloc[0]
        results["policy_version"] = d["policy_version"].iloc[0]
        results = results.sort_values("row").reset_index(drop=True)
    if progress:
        progress(total, total)
    errors = parsed.errors.drop(columns=["_pos"], errors="ignore").reset_index(drop=True)
    return BatchResult(results=results, errors=errors, rows=total)
