"""The models being served, the same in every worker and every door: generations recorded in the store.

A service with N worker processes, the CLI and the batch jobs must grade a subject with one model. Each change
of the served bundles — a service starting with other settings, an admin's reload, ``creditscore promote`` —
appends a **generation** to ``model_generations``: the concrete bundle of each segment (demo, registry version,
folder; see :class:`~creditscore.decisions.scorer.ModelRef`). Every grade first reads the latest generation (one
indexed row) and a worker holding an older one loads the new bundles before it answers. So once a reload or a
promotion has returned, no worker answers with the old model — whichever worker the next request reaches.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import insert, select

from creditscore.decisions.policy_check import load_checked_policy
from creditscore.decisions.scorer import ModelRef, Scorer, load_scorer, resolve_ref
from creditscore.errors import CreditScoreError
from creditscore.features.catalogue import Catalogue, load_catalogue
from creditscore.policy import Policy
from creditscore.records.subjects import Segment
from creditscore.settings import Settings, get_settings
from creditscore.store import Store
from creditscore.store.tables import MODEL_GENERATIONS

log = logging.getLogger("creditscore.models")

__all__ = ["Generation", "ModelSet", "ModelsUnavailable", "current_generation", "current_scorers",
           "promote_champion", "publish_generation", "resolve_refs"]


class ModelsUnavailable(CreditScoreError, RuntimeError):
    """The bundles the store says are served cannot be loaded here (a missing or damaged bundle)."""


@dataclass(frozen=True)
class Generation:
    number: int
    refs: dict[Segment, ModelRef]
    published_at: dt.datetime | None = None
    reason: str = ""


def current_generation(store: Store) -> Generation | None:
    """The latest generation recorded in the store, or None when nothing was ever served from it."""
    query = select(MODEL_GENERATIONS).order_by(MODEL_GENERATIONS.c.generation.desc()).limit(1)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    refs = {Segment.SME: ModelRef.parse(row["sme"]), Segment.HOUSEHOLD: ModelRef.parse(row["household"])}
    return Generation(row["generation"], refs, row["published_at"], row["reason"])


_LATEST = select(MODEL_GENERATIONS.c.generation).order_by(MODEL_GENERATIONS.c.generation.desc()).limit(1)


def _latest_number(store: Store) -> int:
    """The latest generation's number: asked before every batch of grades, so on the reader (on PostgreSQL in
    autocommit: one round trip, no BEGIN / ROLLBACK around it)."""
    with store.reader.connect() as conn:
        return conn.execute(_LATEST).scalar() or 0


def publish_generation(store: Store, refs: dict[Segment, ModelRef], *, reason: str) -> Generation:
    """Record that these bundles are served from now on; returns the new generation."""
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        number = conn.execute(insert(MODEL_GENERATIONS).values(
            sme=str(refs[Segment.SME]), household=str(refs[Segment.HOUSEHOLD]), published_at=now,
            reason=reason[:200])).inserted_primary_key[0]
    return Generation(int(number), dict(refs), now, reason)


def resolve_refs(settings: Settings, source: str | None = None) -> dict[Segment, ModelRef]:
    return {s: resolve_ref(s, source, settings) for s in Segment}


class ModelSet:
    """The scorers a process serves, kept at the store's latest generation.

    ``current()`` costs one small query when nothing changed; after a change it loads the generation's bundles
    (each checked against the running catalogue) before returning.
    """

    def __init__(self, store: Store, *, settings: Settings | None = None, policy: Policy | None = None,
                 model_source: str | None = None, publish: bool = True) -> None:
        self.store = store
        self.settings = settings or get_settings()
        self.policy = policy or load_checked_policy()
        self.catalogues: dict[Segment, Catalogue] = {s: load_catalogue(s) for s in Segment}
        self.model_source = model_source or self.settings.model_source
        self._lock = threading.Lock()
        self.generation = 0
        self.scorers: dict[Segment, Scorer] = {}
        latest = current_generation(store)
        wanted = resolve_refs(self.settings, self.model_source)
        if latest is not None and latest.refs == wanted:
            self._install(latest)
        elif publish:  # this process serves other bundles than the store records: from now on, everyone does
            try:
                self._load(wanted)
            except CreditScoreError as exc:
                if latest is None:
                    raise
                # a damaged or foreign bundle where the settings point: the last good generation keeps serving
                log.error("the configured models cannot be loaded (%s); serving model generation %d", exc,
                          latest.number)
                self._install(latest)
            else:
                self.generation = publish_generation(store, wanted, reason="start-up").number
        elif latest is not None:  # a reader (the CLI) follows what the service serves
            self._install(latest)
        else:  # ... and with no service yet, what the settings name
            self._load(wanted)

    def _load(self, refs: dict[Segment, ModelRef]) -> None:
        fresh = {s: load_scorer(s, ref=refs[s], settings=self.settings, policy=self.policy,
                                catalogue=self.catalogues[s]) for s in Segment}
        with self._lock:
            self.scorers = fresh

    def _install(self, generation: Generation) -> None:
        try:
            self._load(generation.refs)
        except CreditScoreError as exc:
            raise ModelsUnavailable(f"model generation {generation.number} cannot be loaded here: {exc}") from None
        self.generation = generation.number

    def current(self) -> dict[Segment, Scorer]:
        """The scorers of the store's latest generation (loading them first if this process is behind)."""
        if _latest_number(self.store) != self.generation:
            latest = current_generation(self.store)
            if latest is not None and latest.number != self.generation:
                self._install(latest)
        with self._lock:
            return self.scorers

    def scorer(self, segment: Segment | str) -> Scorer:
        return self.current()[Segment.of(segment)]

    def reload(self, *, reason: str = "reload") -> Generation:
        """Resolve the model source again (a new ``@champion``), load it here, then publish it to every worker.

        A bundle that does not load (another catalogue, a damaged file) raises and leaves everyone serving
        what they served.
        """
        wanted = resolve_refs(self.settings, self.model_source)
        self._load(wanted)
        generation = publish_generation(self.store, wanted, reason=reason)
        self.generation = generation.number
        return generation

    def loaded(self) -> dict[Segment, Scorer]:
        """The scorers this process holds now, without asking the store (readiness, model information)."""
        with self._lock:
            return self.scorers


def promote_champion(store: Store, segment: Segment | str, version: int, *, settings: Settings | None = None
                     ) -> Generation | None:
    """Point ``@champion`` at a registered version and, when the service serves the registry, make every worker
    and door grade with it from now on (a new generation). Returns the generation, or None when the settings
    serve another source (demo bundles, a folder) and the promotion changes nothing served."""
    from creditscore.modeling.registry import promote

    settings = settings or get_settings()
    segment = Segment.of(segment)
    promote(segment.value, version, "champion", settings=settings)
    if settings.model_source != "registry":
        return None
    return publish_generation(store, resolve_refs(settings), reason=f"promote {segment.value} version {version}")


def current_scorers(store: Store, settings: Settings | None = None) -> dict[Segment, Scorer]:
    """The scorers every door grades with: the bundles the service serves (the store's latest generation), or
    — before any service has run on this store — the ones the settings name."""
    return ModelSet(store, settings=settings, publish=False).current()
