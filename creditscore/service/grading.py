"""The grading service as a library object: what the API (and any other front door) wraps.

It holds the store and the served models (:class:`~creditscore.service.models.ModelSet`, the same generation in
every worker) and answers "grade this subject" from the store or from records supplied inline, always through a
:class:`~creditscore.decisions.scorer.Scorer` — the one scoring path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from creditscore.decisions.record import DecisionRecord
from creditscore.errors import CreditScoreError, InvalidCode, InvalidRecord, UnknownSubject
from creditscore.features import compute_features
from creditscore.features.catalogue import Catalogue
from creditscore.policy import Policy
from creditscore.records.contracts import KINDS
from creditscore.records.parsing import parse_records
from creditscore.records.subjects import Segment, identify
from creditscore.records.vocabulary import match_headers
from creditscore.service.models import Generation, ModelSet
from creditscore.settings import Settings, get_settings
from creditscore.store import Store
from creditscore.store.features import subjects_features

__all__ = ["GradeQuery", "GradingService", "InvalidInline"]


class GradeQuery(NamedTuple):
    """One subject to grade from the store: its identifier, the as-of date (None: today) and, when the
    caller knows it, the segment the identifier must belong to."""

    subject_id: str
    as_of: dt.date | None = None
    expected: Segment | None = None


class InvalidInline(InvalidRecord):
    """Inline records that break their contracts; ``problems`` lists each (kind, row, column, reason)."""

    def __init__(self, message: str, problems: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.problems = problems


class GradingService:
    """Grades from the store or inline records with the served models and the policy."""

    def __init__(self, store: Store, *, settings: Settings | None = None, policy: Policy | None = None,
                 model_source: str | None = None, models: ModelSet | None = None) -> None:
        self.store = store
        self.settings = settings or get_settings()
        self.models = models or ModelSet(store, settings=self.settings, policy=policy, model_source=model_source)
        self.policy = self.models.policy

    @property
    def catalogues(self) -> dict[Segment, Catalogue]:
        return self.models.catalogues

    # --- models ------------------------------------------------------------------------------------

    def reload(self) -> dict[str, str]:
        """Load the model source again (e.g. a new ``@champion``) and make every worker serve it.

        Keeps the old models everywhere if a load fails.
        """
        generation: Generation = self.models.reload()
        return {s.value: self.models.loaded()[s].version for s in generation.refs}

    def models_info(self) -> list[dict[str, object]]:
        return [scorer.describe() for scorer in self.models.current().values()]

    # --- grading -----------------------------------------------------------------------------------

    def _as_of(self, as_of: dt.date | None) -> pd.Timestamp:
        return pd.Timestamp(as_of or dt.date.today())

    def grade(self, subject_id: str, *, as_of: dt.date | None = None, expected: Segment | str | None = None
              ) -> DecisionRecord:
        """The decision record for one subject from the store (raises UnknownSubject, InvalidCode)."""
        result = self.grade_many([GradeQuery(subject_id, as_of, None if expected is None else Segment.of(expected))])[0]
        if isinstance(result, CreditScoreError):
            raise result
        return result

    def grade_many(self, queries: Sequence[GradeQuery]) -> list[DecisionRecord | CreditScoreError]:
        """Decision records for several subjects from the store, in one pass per (segment, as-of date).

        Each answer, or the error about that subject alone (an invalid identifier, a subject the store does
        not know), in the order asked. A subject's record is the same as :meth:`grade` gives it alone: the
        queries, the indicators and the scoring are shared, their results per subject are not.
        """
        results: list[DecisionRecord | CreditScoreError | None] = [None] * len(queries)
        groups: dict[tuple[Segment, pd.Timestamp], list[tuple[int, str]]] = {}
        for i, q in enumerate(queries):
            try:
                subject = identify(q.subject_id, q.expected)
            except InvalidCode as exc:
                results[i] = exc
                continue
            groups.setdefault((subject.segment, self._as_of(q.as_of)), []).append((i, subject.id))
        scorers = self.models.current() if groups else {}
        for (segment, t), members in groups.items():
            scorer = scorers[segment]
            features = subjects_features(self.store, scorer.catalogue, [n for _, n in members], t,
                                        policy=self.policy)
            records = scorer.decide(features, t)
            for i, normalised in members:
                results[i] = records.get(normalised) or UnknownSubject(
                    f"no {segment.noun} with identifier {segment.display(normalised)} in the store")
        return results  # type: ignore[return-value]  # every slot is filled above

    def grade_inline(self, segment: Segment | str, records: dict[str, list[dict[str, object]]], *,
                     as_of: dt.date | None = None) -> DecisionRecord:
        """The decision record for one subject from records sent with the request."""
        scorer = self.models.scorer(segment)
        subject_kind = scorer.segment.subject_kind
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
                match = match_headers(k, list(raw.columns))
            except InvalidRecord as exc:
                problems.append({"kind": kind, "row": None, "column": None, "reason": str(exc)})
                continue
            result = parse_records(k, match.apply(raw), headers=match.headers)
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
        features = compute_features(scorer.catalogue, parsed, t, self.policy, subjects=[str(ids[0])])
        return scorer.decide(features, t)[str(ids[0])]

    def ready(self) -> dict[str, object]:
        """Ready means a grade can be answered: the store readable and writable (the audit line), models loaded."""
        try:
            self.store.counts()
            readable = True
        except Exception:
            readable = False
        writable = readable and self.store.writable()
        return {"store": readable and writable, "store_readable": readable, "store_writable": writable,
                "models": {s.value: sc.version for s, sc in self.models.loaded().items()},
                "generation": self.models.generation}
