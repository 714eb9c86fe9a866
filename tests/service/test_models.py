"""One scorer for every door: after a promotion or a reload, the API (every worker), the CLI and the library
grade a subject with the same model — a model that is not the shipped demo bundle."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import create_app
from creditscore.cli import app as cli
from creditscore.errors import ModelMismatch
from creditscore.modeling.bundle import write_manifest
from creditscore.records.subjects import Segment
from creditscore.resources import DEMO_BUNDLES
from creditscore.service.keys import Role, create_key
from creditscore.service.models import ModelSet, ModelsUnavailable, current_generation, current_scorers
from creditscore.settings import Settings
from creditscore.store import Store
from creditscore.store.features import subject_features
from creditscore.synth import SynthConfig, generate
from creditscore.synth.feeds import load_feeds

AS_OF = "2024-06-30"


def other_bundle(folder: Path, version: str, shift: float) -> Path:
    """The demo SME bundle with another calibration and version: a different model, as a retrain would give."""
    shutil.copytree(DEMO_BUNDLES / "sme", folder)
    calibrator = json.loads((folder / "calibrator.json").read_text())
    calibrator["b"] += shift  # every PD moves: the grades and terms of many firms change
    (folder / "calibrator.json").write_text(json.dumps(calibrator))
    meta = json.loads((folder / "bundle.json").read_text())
    meta["version"] = version
    write_manifest(folder, meta)  # saved as a retrain saves it: sealed with its files' hashes
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Store]:
    folder = tmp_path_factory.mktemp("models")
    store = Store(f"sqlite:///{folder / 'data' / 'creditscore.db'}")
    store.init()
    load_feeds(store, generate(SynthConfig(seed=21, n_firms=60, n_households=20)).write_files(folder / "feeds"))
    return folder, store


@pytest.fixture
def env(world: tuple[Path, Store], monkeypatch: pytest.MonkeyPatch) -> Settings:
    folder, _ = world
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("CREDITSCORE_MODEL_SOURCE", "registry")
    monkeypatch.delenv("CREDITSCORE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDITSCORE_MLFLOW_TRACKING_URI", raising=False)
    return Settings()


def _firm(store: Store) -> str:
    return str(store.records("enterprises")["uscc"].iloc[5])


def test_a_promoted_model_is_what_the_api_the_cli_and_the_library_grade_with(
        world: tuple[Path, Store], env: Settings, tmp_path: Path) -> None:
    from creditscore.modeling.registry import register_bundle

    _, store = world
    firm = _firm(store)
    bank = {"X-API-Key": create_key(store, "promotion bank", Role.BANK)}
    params = {"purpose": "loan_application", "as_of": AS_OF}
    with TestClient(create_app(env)) as client:
        before = client.get(f"/v1/enterprises/{firm}/grade", params=params, headers=bank).json()
        demo_version = before["model_version"]
        version = register_bundle(other_bundle(tmp_path / "retrained", "sme-retrained-test", shift=1.5))
        promoted = CliRunner().invoke(cli, ["promote", "--segment", "sme", "--version", str(version)])
        assert promoted.exit_code == 0, promoted.output
        assert "model generation" in promoted.output
        api = client.get(f"/v1/enterprises/{firm}/grade", params=params, headers=bank).json()  # no reload asked
    assert api["model_version"] == "sme-retrained-test" != demo_version
    assert api["pd"] != pytest.approx(before["pd"], rel=1e-3)

    shown = CliRunner().invoke(cli, ["grade", firm, "--as-of", AS_OF, "--json"])
    assert shown.exit_code == 0, shown.output
    by_cli = json.loads(shown.output)

    scorer = current_scorers(store)[Segment.SME]
    by_library = scorer.decide(subject_features(store, scorer.catalogue, firm, AS_OF, policy=scorer.policy),
                               AS_OF)[firm]
    batch = scorer.score(pd.concat([subject_features(store, scorer.catalogue, f, AS_OF, policy=scorer.policy)
                                    for f in store.records("enterprises")["uscc"].iloc[:10]]))
    for answer in (by_cli, by_library.model_dump()):
        assert answer["model_version"] == api["model_version"]
        assert answer["final_grade"] == api["grade"]
        assert answer["pd"] == pytest.approx(api["pd"], abs=1e-12)
        assert [r["reason_code"] for r in answer["reasons"]] == [r["reason_code"] for r in api["reasons"]]
        assert [r["contribution"] for r in answer["reasons"]] == pytest.approx(
            [r["contribution"] for r in api["reasons"]], abs=1e-12)
    assert batch.decisions.loc[firm, "pd"] == pytest.approx(api["pd"], abs=1e-12)
    assert batch.decisions.loc[firm, "model_version"] == "sme-retrained-test"


def test_a_generation_that_cannot_be_loaded_is_refused_not_served_stale(world: tuple[Path, Store], env: Settings,
                                                                         tmp_path: Path) -> None:
    from creditscore.decisions.scorer import ModelRef
    from creditscore.service.models import publish_generation

    _, store = world
    models = ModelSet(store, settings=env, model_source="demo")
    good = models.generation
    # a service started on a source that does not load serves the last good generation, and says so in the log
    elsewhere = ModelSet(store, settings=env, model_source=str(tmp_path / "nowhere"))
    assert elsewhere.generation == good
    assert current_generation(store).number == good  # nothing published
    broken = tmp_path / "broken"
    broken.mkdir()  # no bundle.json
    publish_generation(store, {Segment.SME: ModelRef("folder", str(broken)), Segment.HOUSEHOLD: ModelRef("demo")},
                       reason="a test")
    with pytest.raises(ModelsUnavailable, match="cannot be loaded"):
        models.current()
    assert models.generation == good  # still knows it is behind: the next request tries again
    models.reload()
    reloading = ModelSet(store, settings=env, model_source="demo")
    reloading.model_source = str(tmp_path / "nowhere")  # the settings now point at a folder that does not load
    with pytest.raises(ModelMismatch):
        reloading.reload()
    assert current_generation(store).number == models.generation  # a failed reload publishes nothing


# --- two worker processes --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, key: str | None = None, *, method: str = "GET") -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, headers={"X-API-Key": key} if key else {})
    request.add_header("Connection", "close")  # a new connection each time: the kernel picks a worker afresh
    with urllib.request.urlopen(request, timeout=30) as r:
        body = r.read().decode()
        return r.status, (json.loads(body) if body.startswith(("{", "[")) else {"text": body})


@pytest.fixture
def two_workers(world: tuple[Path, Store], tmp_path: Path) -> Iterator[tuple[str, Path, Store]]:
    folder, store = world
    models = tmp_path / "served"
    models.mkdir()
    shutil.copytree(DEMO_BUNDLES / "sme", models / "sme")
    shutil.copytree(DEMO_BUNDLES / "household", models / "household")
    port = _free_port()
    environment = {**os.environ, "CREDITSCORE_DATA_DIR": str(folder / "data"),
                   "CREDITSCORE_MODEL_SOURCE": str(models)}
    environment.pop("CREDITSCORE_DATABASE_URL", None)
    command = [sys.executable, "-c", "from creditscore.cli import app; app()", "serve", "--port", str(port),
               "--workers", "2"]
    proc = subprocess.Popen(command,
                            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, "the service stopped while starting"
            assert time.time() < deadline, "the service did not start in time"
            time.sleep(0.5)
        yield base, models, store
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _pids(base: str, n: int) -> set[str]:
    """Which workers answered ``n`` fresh connections (each /metrics scrape names its own process)."""
    out = set()
    for _ in range(n):
        text = _get(f"{base}/metrics")[1]["text"]
        out |= {line.split('pid="')[1].split('"')[0] for line in text.splitlines()
                if line.startswith("creditscore_worker{")}
    return out


@pytest.mark.slow
def test_after_a_reload_returns_no_worker_answers_with_the_old_model(two_workers: tuple[str, Path, Store]) -> None:
    base, models, store = two_workers
    firm = _firm(store)
    bank, admin = create_key(store, "reload bank", Role.BANK), create_key(store, "reload admin", Role.ADMIN)
    url = f"{base}/v1/enterprises/{firm}/grade?purpose=loan_application&as_of={AS_OF}"
    deadline = time.time() + 90  # the second worker may still be loading when the first answers
    while len(_pids(base, 20)) < 2:
        assert time.time() < deadline, "both workers must be answering for this test to mean anything"
        time.sleep(0.5)
    old = {_get(url, bank)[1]["model_version"] for _ in range(10)}
    assert len(old) == 1

    shutil.rmtree(models / "sme")  # a new bundle where the service's model source points
    other_bundle(models / "sme", "sme-reloaded-test", shift=-1.0)
    status, body = _get(f"{base}/v1/admin/models/reload", admin, method="POST")
    assert status == 200
    assert body["loaded"]["sme"] == "sme-reloaded-test"

    answers = [_get(url, bank)[1]["model_version"] for _ in range(20)]
    assert answers == ["sme-reloaded-test"] * 20
    assert len(_pids(base, 30)) == 2
