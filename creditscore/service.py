"""The grading service as a library object: what the API (and any other front door) wraps.

It holds the store, the policy, the catalogues and the active model bundles, and
answers "grade this subject" from the store or from records supplied inline,
always through :func:`creditscore.scoring.score` — the one scoring path.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from creditscore.audit import mask_subject
from creditscore.errors import CreditScoreError, InvalidCode, InvalidRecord, ModelMismatch, UnknownSubject
from creditscore.features import compute_features, load_catalogue, subjects_features
from creditscore.features.catalogue import Catalogue
from creditscore.ids import validate_resident_id, validate_uscc
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.parsing import map_headers, parse_records
from creditscore.policy import Policy, load_policy
from creditscore.schema import KINDS
from creditscore.scoring import decision_records, score
from creditscore.settings import Settings, get_settings
from creditscore.store import Store

__all__ = ["GradeQuery", "GradingService", "InvalidInline", "load_bundle", "segment_of"]

SEGMENTS = ("sme", "household")
SME_FLAGS = ("court_listed_now", "wage_blacklisted_now", "serious_illegality_now", "abnormal_list_now")
HOUSEHOLD_FLAGS = ("court_listed_now",)


class GradeQuery(NamedTuple):
    """One subject to grade from the store: its identifier, the as-of date (None: today) and, when the
    caller knows it, the segment the identifier must belong to ("sme" or "household")."""

    subject_id: str
    as_of: dt.date | None = None
    expected: str | None = None


class InvalidInline(InvalidRecord):
    """Inline records that break their contracts; ``problems`` lists each (kind, row, column, reason)."""

    def __init__(self, message: str, problems: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.problems = problems


def segment_of(subject_id: str) -> tuple[str, str]:
    """(normalised id, segment) — a resident ID is a household, a USCC a firm."""
    try:
        return validate_resident_id(subject_id), "household"
    except InvalidCode as person_error:
        try:
            return validate_uscc(subject_id), "sme"
        except InvalidCode as firm_error:
            looks_personal = str(subject_id).strip()[:17].isdigit()
            raise (person_error if looks_personal else firm_error) from None


def load_bundle(segment: str, catalogue: Catalogue, source: str, settings: Settings) -> tuple[ModelBundle, str]:
    """The bundle a model source names, and where it came from.

    ``source``: "registry" (the ``@champion``; the shipped demo bundle until one is promoted), "demo", or a
    folder holding one bundle per segment (``<folder>/sme``, ``<folder>/household``).
    """
    if source == "registry":
        from creditscore.registry import RegistryError, load_registered

        try:
            return load_registered(segment, catalogue=catalogue, settings=settings), f"registry:{segment}@champion"
        except RegistryError:
            source = "demo"  # nothing promoted yet: the shipped demo bundle keeps the service useful
    if source == "demo":
        return ModelBundle.load(DEMO_BUNDLES / segment, catalogue=catalogue), "demo"
    path = settings.models_dir_for(source, segment)
    return ModelBundle.load(path, catalogue=catalogue), str(path)


@dataclass
class Active:
    bundle: ModelBundle
    source: str


class GradingService:
    """Grades from the store or inline records with the active bundles and the policy."""

    def __init__(self, store: Store, *, settings: Settings | None = None, policy: Policy | None = None,
                 model_source: str | None = None) -> None:
        self.store = store
        self.settings = settings or get_settings()
        self.policy = policy or load_policy()
        self.catalogues: dict[str, Catalogue] = {s: load_catalogue(s) for s in SEGMENTS}
        self.model_source = model_source or self.settings.model_source
        self._lock = threading.Lock()
        self.active: dict[str, Active] = {}
        self.reload()

    # --- models ------------------------------------------------------------------------------------

    def _load(self, segment: str) -> Active:
        return Active(*load_bundle(segment, self.catalogues[segment], self.model_source, self.settings))

    def reload(self) -> dict[str, str]:
        """Load the bundles again (e.g. after ``creditscore promote``); keeps the old ones if a load fails."""
        fresh = {s: self._load(s) for s in SEGMENTS}
        with self._lock:
            self.active = fresh
        return {s: a.bundle.version_label for s, a in fresh.items()}

    def models(self) -> list[dict[str, object]]:
        out = []
        for segment, active in self.active.items():
            b = active.bundle
            out.append({"segment": segment, "version": b.version_label, "family": b.family, "source": active.source,
                        "catalogue_version": b.catalogue_version, "catalogue_hash": b.catalogue_hash,
                        "explainer": b.meta.get("explainer"), "metrics": b.meta.get("metrics", {}),
                        "training_windows": b.meta.get("training_windows", {})})
        return out

    # --- grading -----------------------------------------------------------------------------------

    def _as_of(self, as_of: dt.date | None) -> pd.Timestamp:
        return pd.Timestamp(as_of or dt.date.today())

    def _identify(self, subject_id: str, expected: str | None) -> tuple[str, str]:
        """(normalised id, segment); with ``expected``, a wrong kind of identifier is said as such."""
        if expected is None:
            return segment_of(subject_id)
        check, other = (validate_uscc, validate_resident_id) if expected == "sme" else \
            (validate_resident_id, validate_uscc)
        try:
            return check(subject_id), expected
        except InvalidCode as wanted:
            try:
                other(subject_id)
            except InvalidCode:
                raise wanted from None  # the identifier this route expects, and what is wrong with it
            what = "a resident ID" if expected == "sme" else "a unified social credit code"
            raise InvalidCode(f"this is {what}, not the identifier this route expects") from None

    def grade(self, subject_id: str, *, as_of: dt.date | None = None, expected: str | None = None
              ) -> dict[str, object]:
        """The decision record for one subject from the store (raises UnknownSubject, InvalidCode)."""
        result = self.grade_many([GradeQuery(subject_id, as_of, expected)])[0]
        if isinstance(result, CreditScoreError):
            raise result
        return result

    def grade_many(self, queries: Sequence[GradeQuery]) -> list[dict[str, object] | CreditScoreError]:
        """Decision records for several subjects from the store, in one pass per (segment, as-of date).

        Each answer, or the error about that subject alone (an invalid identifier, a subject the store does
        not know), in the order asked. A subject's record is the same as :meth:`grade` gives it alone: the
        queries, the indicators and the scoring are shared, their results per subject are not.
        """
        results: list[dict[str, object] | CreditScoreError | None] = [None] * len(queries)
        groups: dict[tuple[str, pd.Timestamp], list[tuple[int, str]]] = {}
        for i, q in enumerate(queries):
            try:
                normalised, segment = self._identify(q.subject_id, q.expected)
            except InvalidCode as exc:
                results[i] = exc
                continue
            groups.setdefault((segment, self._as_of(q.as_of)), []).append((i, normalised))
        for (segment, t), members in groups.items():
            features = subjects_features(self.store, self.catalogues[segment], [n for _, n in members], t,
                                        policy=self.policy)
            records = self._decide(segment, features, t) if len(features) else {}
            for i, normalised in members:
                results[i] = records.get(normalised) or UnknownSubject(
                    f"no {'household' if segment == 'household' else 'enterprise'} with identifier "
                    f"{mask_subject(normalised, segment)} in the store")
        return results  # type: ignore[return-value]  # every slot is filled above

    def grade_inline(self, segment: str, records: dict[str, list[dict[str, object]]], *,
                     as_of: dt.date | None = None) -> dict[str, object]:
        """The decision record for one subject from records sent with the request."""
        catalogue = self.catalogues[segment]
        subject_kind = "enterprises" if segment == "sme" else "households"
        unknown = sorted(set(records) - set(KINDS) - {"objections"})
        if unknown:
            raise InvalidInline(f"unknown record kinds {unknown}; expected some of {sorted(KINDS)}",
                                [{"kind": k, "row": None, "column": None, "reason": "unknown record kind"}
                                 for k in unknown])
        parsed: dict[str, pd.DataFrame] = {}
        problems: list[dict[str, object]] = []
        for kind, rows in records.items():
            k = KINDS[kind]
            raw = pd.DataFrame([{c: ("" if v is None else str(v)) for c, v in row.items()} for row in rows],
                               dtype="string")
            try:
                mapping = map_headers(k, list(raw.columns))
            except InvalidRecord as exc:
                problems.append({"kind": kind, "row": None, "column": None, "reason": str(exc)})
                continue
            result = parse_records(k, raw[list(mapping)].rename(columns=mapping), headers={v: c for c, v in
                                                                                          mapping.items()})
            for e in result.errors.itertuples():
                problems.append({"kind": kind, "row": int(e.row) - 1, "column": e.column, "reason": e.reason})
            parsed[kind] = result.clean
        if problems:
            raise InvalidInline(f"{len(problems)} problem(s) in the records sent", problems)
        subjects = parsed.get(subject_kind)
        if subjects is None or subjects.empty:
            raise InvalidInline(f"send the subject itself under {subject_kind!r}",
                                [{"kind": subject_kind, "row": None, "column": None, "reason": "missing"}])
        ids = subjects[KINDS[subject_kind].subject_column].unique()
        if len(ids) != 1:
            raise InvalidInline("inline records must be about one subject",
                                [{"kind": subject_kind, "row": None, "column": None,
                                  "reason": f"{len(ids)} different subjects"}])
        t = self._as_of(as_of)
        features = compute_features(catalogue, parsed, t, self.policy, subjects=[str(ids[0])])
        return self._decide(segment, features, t)[str(ids[0])]

    def _decide(self, segment: str, features: pd.DataFrame, t: pd.Timestamp) -> dict[str, dict[str, object]]:
        """Decision records of every row of ``features``, by subject id."""
        with self._lock:
            active = self.active[segment]
        if active.bundle.catalogue_hash != self.catalogues[segment].hash:  # pragma: no cover - guarded at load
            raise ModelMismatch(f"{segment} bundle does not match the running catalogue")
        scored = score(active.bundle, features, catalogue=self.catalogues[segment], policy=self.policy)
        flags = SME_FLAGS if segment == "sme" else HOUSEHOLD_FLAGS
        wanted = [*flags, "tax_grade_latest"] if segment == "sme" else list(flags)
        values = features.to_numpy(dtype=float)[:, features.columns.get_indexer(wanted)]  # one read, not one per flag
        listed = {k: values[:, i] >= 1 for i, k in enumerate(flags)}
        tax = values[:, -1] if segment == "sme" else None
        out = decision_records(scored, as_of=t, segment=segment)
        for position, record in enumerate(out.values()):
            if tax is not None:
                code = tax[position]
                record["tax_grade"] = None if np.isnan(code) else "ABMCD"[int(code)]
            record["flags"] = {k: bool(listed[k][position]) for k in flags}
            record["data_as_of"] = t.date().isoformat()
        return out

    def ready(self) -> dict[str, object]:
        try:
            self.store.counts()
            store_ok = True
        except Exception:
            store_ok = False
        return {"store": store_ok, "models": {s: a.bundle.version_label for s, a in self.active.items()}}
