"""Self-describing model bundles: everything needed to turn indicators into PD, score and grade.

A bundle is a folder of plain files, no pickle:

* ``model.txt`` — LightGBM's own text format, and/or ``scorecard.json`` (bins, WOE, coefficients): a blend has
  both, its weights in ``bundle.json`` (``blend``);
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
import hashlib
import json
import logging
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
from creditscore.modeling.estimators import BlendModel, CreditForest, CreditGBM, ScorecardModel, measured_raw_scale
from creditscore.modeling.scales import MasterScale
from creditscore.resources import DEMO_BUNDLES

__all__ = ["DEMO_BUNDLES", "ModelBundle", "library_versions", "read_manifest", "write_manifest"]

#: What ``bundle.json`` records to seal a bundle: each file's hash, and the hash of the metadata itself.
_SEALS = ("files", "meta_sha256")
_FILES = ("model.txt", "scorecard.json", "calibrator.json", "scale.json")
log = logging.getLogger("creditscore.models")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _meta_hash(meta: dict[str, object]) -> str:
    body = {k: v for k, v in meta.items() if k not in _SEALS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def write_manifest(folder: Path, meta: dict[str, object]) -> None:
    """Write ``bundle.json``: the metadata, the sha256 of every file of the bundle, and of the metadata."""
    sealed = {**meta, "files": {name: _sha256(folder / name) for name in _FILES if (folder / name).is_file()}}
    sealed["meta_sha256"] = _meta_hash(sealed)
    (folder / "bundle.json").write_text(json.dumps(sealed, indent=1, ensure_ascii=False, default=str),
                                        encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, object]:
    """``bundle.json``, checked: its own hash and every file's; raises ModelMismatch naming the file and why.

    A bundle saved before bundles were sealed (no ``files``) is read with a warning: nothing can be checked.
    """
    path = folder / "bundle.json"
    if not path.is_file():
        raise ModelMismatch(f"{folder} is not a model bundle (no bundle.json)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        for key in ("segment", "family", "feature_names", "catalogue_version", "catalogue_hash"):
            meta[key]
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise ModelMismatch(f"bundle {folder}: bundle.json is damaged ({type(exc).__name__}: {exc})") from None
    if "files" not in meta:
        log.warning("bundle %s records no file hashes (saved before bundles were sealed): not checked", folder)
        return meta
    if meta.get("meta_sha256") != _meta_hash(meta):
        raise ModelMismatch(f"bundle {folder}: bundle.json was edited after the bundle was saved (its hash does "
                            "not match): refused")
    files = meta["files"]
    if "model.txt" not in files and "scorecard.json" not in files:
        raise ModelMismatch(f"bundle {folder}: bundle.json names no model file")
    for name, digest in files.items():
        if name not in _FILES:
            raise ModelMismatch(f"bundle {folder}: bundle.json names an unexpected file {name!r}")
        file = folder / name
        if not file.is_file():
            raise ModelMismatch(f"bundle {folder}: {name} is missing")
        if _sha256(file) != digest:
            size = file.stat().st_size
            raise ModelMismatch(f"bundle {folder}: {name} is damaged or changed ({size:,} bytes; its sha256 does "
                                "not match the one recorded when the bundle was saved): refused")
    for name in ("calibrator.json", "scale.json"):
        if name not in files:
            raise ModelMismatch(f"bundle {folder}: bundle.json records no hash for {name}")
    return meta

FAMILIES = ("gbm", "scorecard", "additive", "blend", "forest")


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
    def from_estimator(cls, estimator: CreditGBM | ScorecardModel | BlendModel, *, segment: str, family: str,
                       catalogue: Catalogue, calibrator: Calibrator, scale: MasterScale,
                       meta: dict[str, object] | None = None) -> ModelBundle:
        meta = dict(meta or {})
        if isinstance(estimator, BlendModel):  # both parts, and the weights that add their margins
            if tuple(estimator.parts) != ("scorecard", "additive"):
                raise ValueError(f"a bundle holds the trainer's blend of scorecard and additive model; this blend's "
                                 f"parts are {list(estimator.parts)} (an analyst's estimator: keep it with "
                                 "joblib or MLflow's sklearn flavour)")
            meta["blend"] = {"weights": [float(w) for w in estimator.weights_], "intercept": estimator.intercept_}
            meta["contribution_centres"] = estimator.scorecard_.contribution_centres_.tolist()
            booster = lgb.Booster(model_str=estimator.additive_.model_string())
            scorecard = estimator.scorecard_
        else:
            booster = lgb.Booster(model_str=estimator.model_string()) if isinstance(estimator, CreditGBM) else None
            if isinstance(estimator, CreditForest):  # LightGBM's raw score of a forest is the trees' sum
                meta["raw_scale"] = estimator.raw_scale_
            scorecard = estimator if isinstance(estimator, ScorecardModel) else None
        return cls(segment=segment, family=family, feature_names=list(catalogue.ids),
                   catalogue_version=catalogue.version, catalogue_hash=catalogue.hash, calibrator=calibrator,
                   scale=scale, booster=booster, scorecard=scorecard, meta=meta)

    @functools.cached_property
    def additive_explainer(self) -> AdditiveExplainer | None:
        """The exact fast explainer when every tree uses a single indicator (the bundle says so)."""
        if self.booster is None or self.meta.get("explainer") not in ("additive", "blend"):
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

    @property
    def blend(self) -> dict[str, object] | None:
        """A blend's weights (scorecard, additive) and intercept; None for a single model."""
        return self.meta.get("blend")  # type: ignore[return-value]

    @functools.cached_property
    def raw_scale(self) -> float:
        """What turns the booster's raw score into log-odds: 1, or 1/trees for a forest (:class:`CreditForest`).

        A forest's is measured again on the booster as loaded, not only read from ``bundle.json``: a LightGBM that
        stops summing an ``rf`` model's raw score (its issue #6217) would otherwise shrink every saved forest's
        margins 500-fold.
        """
        if self.booster is None or "raw_scale" not in self.meta:
            return 1.0
        rng = np.random.default_rng(0)
        probe = rng.normal(size=(32, len(self.feature_names))) * np.repeat([1.0, 10.0, 1000.0, 0.0], 8)[:, None]
        return measured_raw_scale(self.booster, probe, recorded=float(self.meta["raw_scale"]))  # type: ignore[arg-type]

    def margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """Log-odds of default before calibration (what the explanations decompose)."""
        matrix = self.matrix(X)
        if self.blend is not None:
            assert self.booster is not None
            assert self.scorecard is not None
            w = self.blend["weights"]
            additive = self.booster.predict(matrix, raw_score=True, num_threads=1 if len(matrix) < 1000 else 0)
            points = self.scorecard.margin(pd.DataFrame(matrix, columns=self.feature_names))
            return self.blend["intercept"] + w[0] * points + w[1] * additive
        if self.booster is not None:
            raw = self.booster.predict(matrix, raw_score=True, num_threads=1 if len(matrix) < 1000 else 0)
            return raw * self.raw_scale
        assert self.scorecard is not None
        return self.scorecard.margin(pd.DataFrame(matrix, columns=self.feature_names))

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
        if self.scorecard is not None:
            (out / "scorecard.json").write_text(self.scorecard.to_json(), encoding="utf-8")
        (out / "calibrator.json").write_text(json.dumps(self.calibrator.to_dict()), encoding="utf-8")
        (out / "scale.json").write_text(self.scale.model_dump_json(indent=1), encoding="utf-8")
        meta = {"segment": self.segment, "family": self.family, "feature_names": self.feature_names,
                "catalogue_version": self.catalogue_version, "catalogue_hash": self.catalogue_hash,
                "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "libraries": library_versions(), **{k: v for k, v in self.meta.items() if k not in _SEALS}}
        write_manifest(out, meta)
        return out

    @classmethod
    def load(cls, folder: str | Path, *, catalogue: Catalogue | None = None) -> ModelBundle:
        """Load a bundle; with ``catalogue``, refuse it unless it was trained on exactly that catalogue.

        Every file is checked against the hashes ``bundle.json`` records before anything reads it: LightGBM reading
        a damaged model file can crash the process rather than raise, so a damaged bundle is refused (saying which
        file and why) before native code sees it.
        """
        src = Path(folder)
        meta = read_manifest(src)
        if catalogue is not None:
            if meta["catalogue_hash"] != catalogue.hash:
                raise ModelMismatch(
                    f"bundle {src} was trained on {meta['segment']} catalogue version {meta['catalogue_version']} "
                    f"(hash {meta['catalogue_hash'][:12]}), but the running catalogue is version "
                    f"{catalogue.version} (hash {catalogue.hash[:12]}): retrain, or run the catalogue it was "
                    "trained with")
            if meta["feature_names"] != catalogue.ids:
                raise ModelMismatch(f"bundle {src}: its feature order differs from the catalogue's")
        booster = scorecard = None
        try:
            if (src / "model.txt").is_file():
                booster = lgb.Booster(model_file=str(src / "model.txt"))
            if booster is None or "blend" in meta:
                scorecard = ScorecardModel.from_json((src / "scorecard.json").read_text(encoding="utf-8"))
            calibrator = Calibrator.from_dict(json.loads((src / "calibrator.json").read_text(encoding="utf-8")))
            scale = MasterScale.model_validate_json((src / "scale.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, lgb.basic.LightGBMError) as exc:  # an unsealed bundle
            raise ModelMismatch(f"bundle {src} cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None
        known = {"segment", "family", "feature_names", "catalogue_version", "catalogue_hash"}
        return cls(segment=meta["segment"], family=meta["family"], feature_names=meta["feature_names"],
                   catalogue_version=meta["catalogue_version"], catalogue_hash=meta["catalogue_hash"],
                   calibrator=calibrator, scale=scale, booster=booster, scorecard=scorecard,
                   meta={k: v for k, v in meta.items() if k not in known})
