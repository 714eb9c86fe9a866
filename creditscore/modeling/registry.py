"""MLflow tracking and model registry.

Every training run logs its parameters, metrics, report and bundle; each bundle is
registered under ``creditscore-<segment>``; the alias ``champion`` marks the one
the service loads (``challenger`` the other). Embedded default: a SQLite tracking
store and local artifacts in the data folder; a remote server by setting
``CREDITSCORE_MLFLOW_TRACKING_URI``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

from creditscore.errors import CreditScoreError
from creditscore.features.catalogue import Catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.modeling.train import TrainResult
from creditscore.settings import Settings, get_settings

logger = logging.getLogger(__name__)

__all__ = ["RegistryError", "champion_version", "load_registered", "load_version", "log_training", "model_name",
           "promote", "register_bundle", "tracking_uri"]

PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")


class RegistryError(CreditScoreError, LookupError):
    """A registered model or alias that does not exist."""


def model_name(segment: str) -> str:
    return f"creditscore-{segment}"


def tracking_uri(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.data_dir / 'mlflow.db').resolve()}"


def _mlflow(settings: Settings | None = None):
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no download bars in a terminal
    uri = tracking_uri(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


def _experiment(mlflow, segment: str, settings: Settings) -> str:
    name = f"creditscore-{segment}"
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    artifacts = None
    if not settings.mlflow_tracking_uri:
        artifacts = (settings.data_dir / "mlartifacts").resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=artifacts)


def log_training(result: TrainResult, bundle_dirs: dict[str, Path], report_dir: Path, *, register: bool = True,
                 settings: Settings | None = None) -> dict[str, dict[str, object]]:
    """Log one run per family; register the bundles; point ``champion`` at the chosen one."""
    settings = settings or get_settings()
    mlflow = _mlflow(settings)
    client = mlflow.MlflowClient()
    experiment = _experiment(mlflow, result.segment, settings)
    out: dict[str, dict[str, object]] = {}
    for family, r in result.families.items():
        with mlflow.start_run(experiment_id=experiment, run_name=f"{result.segment}-{family}") as run:
            mlflow.set_tags({"segment": result.segment, "family": family, "champion": family == result.champion,
                             "champion_rule": result.rule, "catalogue_hash": result.catalogue.hash})
            params = {"segment": result.segment, "family": family, "catalogue_version": result.catalogue.version,
                      "train_dates": ",".join(result.dates["train"]), "validation_date": result.dates["validation"][0],
                      "test_date": result.dates["test"][0], "calibration": r.test["calibration"]}
            mlflow.log_params(params)
            mlflow.log_metrics({f"validation_{k}": float(v) for k, v in r.validation.items()
                                if isinstance(v, int | float)})
            mlflow.log_metrics({f"test_{k}": float(v) for k, v in r.test.items() if isinstance(v, int | float)})
            if result.oracle:
                mlflow.log_metrics({f"oracle_{k}": v for k, v in result.oracle.items()})
            mlflow.log_artifacts(str(report_dir), artifact_path="report")
            mlflow.log_artifacts(str(bundle_dirs[family]), artifact_path="bundle")
            entry: dict[str, object] = {"run_id": run.info.run_id}
            if register:
                version = _register(mlflow, r.bundle, bundle_dirs[family])
                alias = "champion" if family == result.champion else f"challenger-{family}"
                client.set_registered_model_alias(model_name(result.segment), alias, str(version))
                entry.update(version=version, alias=alias)
            out[family] = entry
    return out


def _register(mlflow, bundle: ModelBundle, folder: Path) -> int:
    """Log ``folder`` as a pyfunc model in the active run and register it; returns the version."""
    import pandas as pd
    from mlflow.models import infer_signature

    example = pd.DataFrame([[0.0] * len(bundle.feature_names)], columns=bundle.feature_names)
    # MLflow prints its registry steps and download bars on stderr: kept out of an analyst's terminal (the CLI
    # says what was registered); the input example also documents the model's columns in the registry
    with contextlib.redirect_stderr(io.StringIO()) as said:
        info = mlflow.pyfunc.log_model(name="model", python_model=str(PYFUNC_CODE), artifacts={"bundle": str(folder)},
                                       signature=infer_signature(example, bundle.predict(example)),
                                       input_example=example)
        version = mlflow.register_model(info.model_uri, model_name(bundle.segment))
    for line in said.getvalue().splitlines():
        if line.strip():
            logger.debug("mlflow: %s", line.strip())
    mlflow.MlflowClient().set_model_version_tag(model_name(bundle.segment), version.version, "family", bundle.family)
    return int(version.version)


def register_bundle(folder: str | Path, *, settings: Settings | None = None) -> int:
    """Register a bundle folder trained elsewhere (a notebook, another machine) as a new version; no alias moves.

    The bundle is loaded first, so a damaged or foreign folder is refused before anything is registered.
    """
    settings = settings or get_settings()
    folder = Path(folder)
    bundle = ModelBundle.load(folder)
    mlflow = _mlflow(settings)
    experiment = _experiment(mlflow, bundle.segment, settings)
    with mlflow.start_run(experiment_id=experiment, run_name=f"{bundle.segment}-{bundle.family}-registered"):
        mlflow.set_tags({"segment": bundle.segment, "family": bundle.family, "catalogue_hash": bundle.catalogue_hash})
        mlflow.log_artifacts(str(folder), artifact_path="bundle")
        return _register(mlflow, bundle, folder)


def promote(segment: str, version: int, alias: str = "champion", *, settings: Settings | None = None) -> None:
    """Point ``alias`` at a registered version (the service picks it up on reload)."""
    mlflow = _mlflow(settings)
    client = mlflow.MlflowClient()
    try:
        client.get_model_version(model_name(segment), str(version))
    except Exception as exc:
        raise RegistryError(f"{model_name(segment)} has no version {version}") from exc
    client.set_registered_model_alias(model_name(segment), alias, str(version))


def champion_version(segment: str, alias: str = "champion", *, settings: Settings | None = None) -> int | None:
    """The registered version ``alias`` points at; None when nothing is registered or the alias is unset.

    An embedded registry that was never written to is not created just to be asked (MLflow's first touch of a
    SQLite file builds its whole schema: seconds).
    """
    settings = settings or get_settings()
    if not settings.mlflow_tracking_uri and not (settings.data_dir / "mlflow.db").exists():
        return None
    mlflow = _mlflow(settings)
    try:
        return int(mlflow.MlflowClient().get_model_version_by_alias(model_name(segment), alias).version)
    except Exception:
        return None


def load_version(segment: str, version: int, *, catalogue: Catalogue | None = None,
                 settings: Settings | None = None) -> ModelBundle:
    """Load a registered version's bundle (checked against ``catalogue`` when given)."""
    mlflow = _mlflow(settings)
    try:
        path = Path(mlflow.artifacts.download_artifacts(f"models:/{model_name(segment)}/{version}"))
    except Exception as exc:
        raise RegistryError(f"{model_name(segment)} has no version {version}") from exc
    found = next(path.rglob("bundle.json"), None)
    if found is None:
        raise RegistryError(f"{model_name(segment)} version {version} holds no creditscore bundle")
    return ModelBundle.load(found.parent, catalogue=catalogue)


def load_registered(segment: str, alias: str = "champion", *, catalogue: Catalogue | None = None,
                    settings: Settings | None = None) -> ModelBundle:
    """Load the bundle a registry alias points at (checked against ``catalogue`` when given)."""
    version = champion_version(segment, alias, settings=settings)
    if version is None:
        raise RegistryError(f"no model registered as {model_name(segment)}@{alias}")
    return load_version(segment, version, catalogue=catalogue, settings=settings)
