"""Self-describing model bundles: everything needed to turn indicators into PD, score and grade.

A bundle is a folder of plain files, no pickle:

* ``model.txt`` — LightGBM's own text format, or ``scorecard.json`` (bins, WOE, coefficients);
* ``calibrator.json`` — margin → PD;
* ``scale.json`` — the master scale the grades come from;
* ``bundle.json`` — segment, family, feature order, catalogue version and hash, training
  windows, metrics, library versions, which explainer applies.

Loading checks the catalogue hash: a bundle trained on other indicators is refused
with a message saying which, rather than silently scoring garbage.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from creditscore.errors import ModelMismatch
from creditscore.features.catalogue import Catalogue
from creditscore.modeling.additive import AdditiveExplainer
from creditscore.modeling.calibration import Calibrator
from creditscore.modeling.estimators import CreditGBM, ScorecardModel
from creditscore.modeling.scales import MasterScale
from creditscore.resources import DEMO_BUNDLES

__all__ = ["DEMO_BUNDLES", "ModelBundle", "library_versions"]

FAMILIES = ("gbm", "scorecard", "additive")


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("creditscore", "lightgbm", "numpy", "pandas", "scikit-learn", "optbinning"):
        try:
            out[name] = version(name)
        except Exception:
            continue
    return out


@dataclass
class ModelBundle:
    """A trained model with its calibrator and master scale, ready to grade."""

    segment: str
    family: str
    feature_names: list[str]
    catalogue_version: str
    catalogue_hash: str
    calibrator: Calibrator
    scale: MasterScale
    booster: lgb.Booster | None = None
    scorecard: ScorecardModel | None = None
    meta: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_estimator(cls, estimator: CreditGBM | ScorecardModel, *, segment: str, family: str,
                       catalogue: Catalogue, calibrator: Calibrator, scale: MasterScale,
                       meta: dict[str, object] | None = None) -> ModelBundle:
        booster = lgb.Booster(model_str=estimator.model_string()) if isinstance(estimator, CreditGBM) else None
        scorecard = estimator if isinstance(estimator, ScorecardModel) else None
        return cls(segment=segment, family=family, feature_names=list(catalogue.ids),
                   catalogue_version=catalogue.version, catalogue_hash=catalogue.hash, calibrator=calibrator,
                   scale=scale, booster=booster, scorecard=scorecard, meta=dict(meta or {}))

    @functools.cached_property
    def additive_explainer(self) -> AdditiveExplainer | None:
        """The exact fast explainer when every tree uses a single indicator (the bundle says so)."""
        if self.booster is None or self.meta.get("explainer") != "additive":
            return None
        return AdditiveExplainer.from_booster(self.booster)

    @property
    def version_label(self) -> str:
        return str(self.meta.get("version", f"{self.segment}-{self.family}"))

    def matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """The indicators as a float matrix in the bundle's feature order (checked)."""
        if isinstance(X, pd.DataFrame):
            if list(X.columns) == self.feature_names:  # already in order: no column selection (10× cheaper)
                return X.to_numpy(dtype=float)
            missing = [c for c in self.feature_names if c not in X.columns]
            if missing:
                raise ModelMismatch(f"bundle {self.version_label} needs indicators that are absent: {missing}")
            return X[self.feature_names].to_numpy(dtype=float)
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(self.feature_names):
            raise ModelMismatch(f"bundle {self.version_label} expects {len(self.feature_names)} indicators, "
                                f"got an array of shape {arr.shape}")
        return arr

    def margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """Log-odds of default before calibration (what the explanations decompose)."""
        matrix = self.matrix(X)
        if self.booster is not None:
            return self.booster.predict(matrix, raw_score=True, num_threads=1 if len(matrix) < 1000 else 0)
        assert self.scorecard is not None
        return self.scorecard.decision_function(pd.DataFrame(matrix, columns=self.feature_names))

    def predict(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:  # noqa: N803
        """PD (calibrated, 12 months), score and grade for each row."""
        pd_ = self.calibrator.predict(self.margin(X))
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame({"pd": pd_, "score": self.scale.score.score(pd_), "grade": self.scale.grade(pd_)},
                            index=index)

    # --- files -----------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("model.txt", "scorecard.json"):
            (out / stale).unlink(missing_ok=True)
        if self.booster is not None:
            (out / "model.txt").write_text(self.booster.model_to_string(), encoding="utf-8")
        else:
            assert self.scorecard is not None
            (out / "scorecard.json").write_text(self.scorecard.to_json(), encoding="utf-8")
        (out / "calibrator.json").write_text(json.dumps(self.calibrator.to_dict()), encoding="utf-8")
        (out / "scale.json").write_text(self.scale.model_dump_json(indent=1), encoding="utf-8")
        meta = {"segment": self.segment, "family": self.family, "feature_names": self.feature_names,
                "catalogue_version": self.catalogue_version, "catalogue_hash": self.catalogue_hash,
                "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "libraries": library_versions(), **self.meta}
        (out / "bundle.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str),
                                         encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path, *, catalogue: Catalogue | None = None) -> ModelBundle:
        """Load a bundle; with ``catalogue``, refuse it unless it was trained on exactly that catalogue."""
        src = Path(folder)
        meta_path = src / "bundle.json"
        if not meta_path.is_file():
            raise ModelMismatch(f"{src} is not a model bundle (no bundle.json)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if catalogue is not None:
            if meta["catalogue_hash"] != catalogue.hash:
                raise ModelMismatch(
                    f"bundle {src} was trained on {meta['segment']} catalogue version {meta['catalogue_version']} "
                    f"(hash {meta['catalogue_hash'][:12]}), but the running catalogue is version "
                    f"{catalogue.version} (hash {catalogue.hash[:12]}): retrain, or run the catalogue it was "
                    "trained with")
            if meta["feature_names"] != catalogue.ids:
                raise ModelMismatch(f"bundle {src}: feature order differs from the catalogue")
        booster = scorecard = None
        if (src / "model.txt").is_file():
            booster = lgb.Booster(model_file=str(src / "model.txt"))
        else:
            scorecard = ScorecardModel.from_json((src / "scorecard.json").read_text(encoding="utf-8"))
        calibrator = Calibrator.from_dict(json.loads((src / "calibrator.json").read_text(encoding="utf-8")))
        scale = MasterScale.model_validate_json((src / "scale.json").read_text(encoding="utf-8"))
        known = {"segment", "family", "feature_names", "catalogue_version", "catalogue_hash"}
        return cls(segment=meta["segment"], family=meta["family"], feature_names=meta["feature_names"],
                   catalogue_version=meta["catalogue_version"], catalogue_hash=meta["catalogue_hash"],
                   calibrator=calibrator, scale=scale, booster=booster, scorecard=scorecard,
                   meta={k: v for k, v in meta.items() if k not in known})
