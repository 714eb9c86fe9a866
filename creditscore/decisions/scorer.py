"""One scorer for every door: a model bundle with the catalogue, the policy and the master scale it runs with.

Every door — the API, each CLI command that grades, the household batches, the monitoring and the notebooks —
grades through a :class:`Scorer`, and gets it from one place (:mod:`creditscore.service.models`, which adds the
store's record of which bundles are being served). Where a bundle comes from is a :class:`ModelRef`: a concrete
location (the demo bundle, a registered version, a folder), never an alias that could move between two loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from creditscore.decisions.policy_check import load_checked_policy
from creditscore.decisions.record import DecisionRecord
from creditscore.decisions.scoring import Scored, decision_records, score
from creditscore.errors import ConfigError, ModelMismatch
from creditscore.features.catalogue import Catalogue, load_catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.modeling.scales import MasterScale
from creditscore.policy import Policy
from creditscore.records.subjects import Segment
from creditscore.resources import DEMO_BUNDLES
from creditscore.settings import Settings, get_settings

__all__ = ["ModelRef", "Scorer", "load_scorer", "resolve_ref"]


@dataclass(frozen=True)
class ModelRef:
    """Where one segment's bundle comes from: ``demo``, ``registry:<version>`` or ``folder:<path>``."""

    kind: str
    location: str = ""

    def __str__(self) -> str:
        return self.kind if not self.location else f"{self.kind}:{self.location}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        kind, _, location = str(text).partition(":")
        if kind not in ("demo", "registry", "folder") or (kind != "demo" and not location):
            raise ConfigError(f"model reference {text!r}: expected demo, registry:<version> or folder:<path>")
        return cls(kind, location)

    def load(self, segment: Segment, catalogue: Catalogue, settings: Settings) -> ModelBundle:
        """The bundle, checked against ``catalogue`` (raises ModelMismatch saying why it does not fit)."""
        if self.kind == "demo":
            return ModelBundle.load(DEMO_BUNDLES / segment.value, catalogue=catalogue)
        if self.kind == "folder":
            return ModelBundle.load(Path(self.location), catalogue=catalogue)
        from creditscore.modeling.registry import load_version

        return load_version(segment.value, int(self.location), catalogue=catalogue, settings=settings)


def resolve_ref(segment: Segment | str, source: str | None = None, settings: Settings | None = None) -> ModelRef:
    """The concrete bundle a model source names now.

    ``source`` (default: the settings' ``model_source``): ``registry`` — the version ``@champion`` points at, or
    the shipped demo bundle while nothing is promoted; ``demo``; or a folder holding one bundle per segment.
    """
    settings = settings or get_settings()
    segment = Segment.of(segment)
    source = source or settings.model_source
    if source == "registry":
        from creditscore.modeling.registry import champion_version

        version = champion_version(segment.value, settings=settings)
        return ModelRef("registry", str(version)) if version is not None else ModelRef("demo")
    if source == "demo":
        return ModelRef("demo")
    return ModelRef("folder", str(settings.models_dir_for(source, segment.value).resolve()))


@dataclass(frozen=True)
class Scorer:
    """A bundle, its catalogue and the policy: indicators in, decisions out.

    The scale is the bundle's own (a bundle carries the master scale it was calibrated to).
    """

    segment: Segment
    bundle: ModelBundle
    catalogue: Catalogue
    policy: Policy
    ref: ModelRef = ModelRef("demo")

    def __post_init__(self) -> None:
        if self.bundle.catalogue_hash != self.catalogue.hash:
            raise ModelMismatch(f"the {self.segment} bundle {self.bundle.version_label} was trained on catalogue "
                                f"{self.bundle.catalogue_version} ({self.bundle.catalogue_hash[:12]}), not on the "
                                f"running {self.catalogue.version} ({self.catalogue.hash[:12]})")

    @property
    def scale(self) -> MasterScale:
        return self.bundle.scale

    @property
    def version(self) -> str:
        return self.bundle.version_label

    def score(self, features: pd.DataFrame, *, with_reasons: bool = True) -> Scored:
        """Grade every row of ``features`` (see :func:`creditscore.decisions.scoring.score`)."""
        return score(self.bundle, features, catalogue=self.catalogue, policy=self.policy, with_reasons=with_reasons)

    def decide(self, features: pd.DataFrame, as_of: object) -> dict[str, DecisionRecord]:
        """The decision record of every row of ``features``, by subject id."""
        if not len(features):
            return {}
        return decision_records(self.score(features), as_of=as_of, segment=self.segment)

    def describe(self) -> dict[str, object]:
        """What an operator or analyst asks of the model being served."""
        b = self.bundle
        return {"segment": self.segment.value, "version": b.version_label, "family": b.family, "source": str(self.ref),
                "catalogue_version": b.catalogue_version, "catalogue_hash": b.catalogue_hash,
                "explainer": b.meta.get("explainer"), "metrics": b.meta.get("metrics", {}),
                "training_windows": b.meta.get("training_windows", {})}


def load_scorer(segment: Segment | str, *, ref: ModelRef | None = None, settings: Settings | None = None,
                policy: Policy | None = None, catalogue: Catalogue | None = None) -> Scorer:
    """A scorer for ``segment`` from ``ref`` (default: what the settings' model source names now).

    Doors that serve or grade should ask :func:`creditscore.service.models.current_scorers` instead: it also
    honours the model generation the running service records in the store.
    """
    settings = settings or get_settings()
    segment = Segment.of(segment)
    catalogue = catalogue or load_catalogue(segment)
    ref = ref or resolve_ref(segment, settings=settings)
    return Scorer(segment, ref.load(segment, catalogue, settings), catalogue, policy or load_checked_policy(), ref)

