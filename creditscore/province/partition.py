"""The partition function: a set of subjects' records → their grades, the same path as the service's."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import zlib

import numpy as np
import pandas as pd

from creditscore.decisions.scorer import Scorer
from creditscore.features import compute_features
from creditscore.records.contracts import KINDS
from creditscore.records.ids import mask_resident_id
from creditscore.records.subjects import Segment

__all__ = ["OUTPUT_COLUMNS", "grade_partition", "known_subjects", "part_of", "pseudonym"]

OUTPUT_COLUMNS = ["subject", "subject_key", "segment", "final_grade", "model_grade", "pd", "score", "eligible",
                  "credit_line_yuan", "overrides", "reasons_zh", "reason_codes", "model_version", "policy_version",
                  "as_of"]


def part_of(subject_ids: pd.Series | list[str], partitions: int) -> np.ndarray:
    """Each subject's partition: CRC-32 of its id's UTF-8 bytes, modulo ``partitions``.

    Stable across processes, machines and runs (unlike Python's salted ``hash``), and the same function Spark
    SQL has built in (``crc32``), so both engines put a subject in the same partition.
    """
    return np.fromiter((zlib.crc32(str(s).encode()) % partitions for s in subject_ids), dtype=np.int64,
                       count=len(subject_ids))


def pseudonym(subject_ids: list[str], key: bytes) -> list[str]:
    """A keyed pseudonym per subject (HMAC-SHA256, 24 hex characters): joins a run's output back to the platform
    without the ID. Unkeyed, a hash of an 18-digit ID could be reversed by trying every ID; keyed, it cannot
    without the platform's key."""
    return [hmac.new(key, s.encode(), hashlib.sha256).hexdigest()[:24] for s in subject_ids]


def known_subjects(segment: Segment, table: pd.DataFrame | None, as_of: dt.date) -> list[str]:
    """The subjects the platform knew on ``as_of``: registered (firms) or surveyed (households) by then — a firm
    founded later is no one to grade yet, as the single-subject path says (UnknownSubject)."""
    if table is None or not len(table):
        return []
    kind = KINDS[segment.subject_kind]
    dates = pd.to_datetime(table[kind.event_date], errors="coerce")
    known = (dates <= pd.Timestamp(as_of)).to_numpy()
    return sorted(table.loc[known, kind.subject_column].astype(str).unique())


def grade_partition(scorer: Scorer, records: dict[str, pd.DataFrame], as_of: dt.date,
                    subjects: list[str] | None = None, *, key: bytes = b"") -> pd.DataFrame:
    """Grade ``subjects`` (default: everyone in the partition's subject table) from their records.

    Returns one row per subject, sorted by its key, with the columns of :data:`OUTPUT_COLUMNS`: a household's
    resident ID masked for display (``subject``, not unique) and its keyed pseudonym (``subject_key``, unique);
    a firm's code is public and is its own key.
    """
    if subjects is None:
        subjects = known_subjects(scorer.segment, records.get(scorer.segment.subject_kind), as_of)
    features = compute_features(scorer.catalogue, records, as_of, scorer.policy, subjects=subjects)
    if not len(features):
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    scored = scorer.score(features)
    d = scored.decisions
    why = scored.reasons
    adverse = why[why["kind"] == "adverse"].sort_values(["subject_id", "rank"])
    texts = adverse.groupby("subject_id")["text_zh"].agg("；".join)
    codes = adverse.groupby("subject_id")["reason_code"].agg(";".join)
    ids = d.index.astype(str)
    household = scorer.segment is Segment.HOUSEHOLD
    out = pd.DataFrame({
        "subject": [mask_resident_id(s) for s in ids] if household else list(ids),
        "subject_key": pseudonym(list(ids), key) if household else list(ids),
        "segment": scorer.segment.value,
        "final_grade": d["final_grade"].astype(str).to_numpy(), "model_grade": d["model_grade"].astype(str).to_numpy(),
        "pd": d["pd"].to_numpy(float), "score": d["score"].to_numpy(float), "eligible": d["eligible"].to_numpy(bool),
        "credit_line_yuan": d["credit_line_yuan"].to_numpy(float),
        "overrides": d["overrides"].map(";".join).to_numpy(),
        "reasons_zh": texts.reindex(d.index).fillna("").to_numpy(),
        "reason_codes": codes.reindex(d.index).fillna("").to_numpy(),
        "model_version": scorer.version, "policy_version": scorer.policy.version, "as_of": as_of.isoformat(),
    })
    return out.sort_values("subject_key", kind="stable").reset_index(drop=True)
