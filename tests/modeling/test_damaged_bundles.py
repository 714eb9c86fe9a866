"""A damaged model never takes the service down: every way a bundle can be damaged is refused, naming the file,
before LightGBM reads a byte of it — and a reload to a damaged bundle leaves the last good model serving."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from creditscore.errors import ModelMismatch
from creditscore.features import load_catalogue
from creditscore.modeling.bundle import ModelBundle
from creditscore.resources import DEMO_BUNDLES


def _truncate(folder: Path) -> None:
    model = folder / "model.txt"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])


def _random_bytes(folder: Path) -> None:
    (folder / "model.txt").write_bytes(os.urandom(4096))


def _empty(folder: Path) -> None:
    (folder / "model.txt").write_bytes(b"")


def _missing_calibrator(folder: Path) -> None:
    (folder / "calibrator.json").unlink()


def _missing_model(folder: Path) -> None:
    (folder / "model.txt").unlink()


def _edited_metadata(folder: Path) -> None:
    meta = json.loads((folder / "bundle.json").read_text())
    meta["metrics"] = {"test": {"auc": 0.99}}
    (folder / "bundle.json").write_text(json.dumps(meta))


def _feature_order(folder: Path) -> None:
    meta = json.loads((folder / "bundle.json").read_text())
    meta["feature_names"] = list(reversed(meta["feature_names"]))
    (folder / "bundle.json").write_text(json.dumps(meta))


def _broken_json(folder: Path) -> None:
    (folder / "bundle.json").write_text('{"segment": "sme", ')


def _edited_scale(folder: Path) -> None:
    (folder / "scale.json").write_text((folder / "scale.json").read_text().replace("AAA", "AAB", 1))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated model": (_truncate, "model.txt is damaged or changed"),
    "random bytes": (_random_bytes, "model.txt is damaged or changed"),
    "empty model": (_empty, "model.txt is damaged or changed"),
    "missing calibrator": (_missing_calibrator, "calibrator.json is missing"),
    "missing model": (_missing_model, "model.txt is missing"),
    "edited metadata": (_edited_metadata, "bundle.json was edited"),
    "feature order": (_feature_order, "bundle.json was edited"),
    "broken bundle.json": (_broken_json, "bundle.json is damaged"),
    "edited scale": (_edited_scale, "scale.json is damaged or changed"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_bundle_is_refused_naming_the_file(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "sme"
    shutil.copytree(DEMO_BUNDLES / "sme", folder)
    harm, message = DAMAGE[damage]
    harm(folder)
    with pytest.raises(ModelMismatch, match=message):
        ModelBundle.load(folder, catalogue=load_catalogue("sme"))


def test_the_refusal_comes_before_native_code_reads_the_file(tmp_path: Path) -> None:
    """In a child process: a crash inside LightGBM would kill it, not raise — the child must exit cleanly."""
    folder = tmp_path / "sme"
    shutil.copytree(DEMO_BUNDLES / "sme", folder)
    _truncate(folder)
    code = ("from creditscore.modeling.bundle import ModelBundle\n"
            "from creditscore.errors import ModelMismatch\n"
            f"try:\n    ModelBundle.load({str(folder)!r})\nexcept ModelMismatch as e:\n    print('refused:', e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout


def test_a_reload_to_a_damaged_bundle_says_why_and_the_last_good_model_keeps_serving(tmp_path: Path) -> None:
    from api import create_app
    from creditscore.service.keys import Role, create_key
    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    served = tmp_path / "served"
    for segment in ("sme", "household"):
        shutil.copytree(DEMO_BUNDLES / segment, served / segment)
    settings = Settings(data_dir=tmp_path / "data", model_source=str(served))
    store = Store(settings.store_url)
    store.init()
    load_feeds(store, generate(SynthConfig(seed=8, n_firms=20, n_households=5)).write_files(tmp_path / "feeds"))
    firm = str(store.records("enterprises")["uscc"].iloc[0])
    bank, admin = create_key(store, "b", Role.BANK), create_key(store, "a", Role.ADMIN)
    with TestClient(create_app(settings)) as client:
        before = client.get(f"/v1/enterprises/{firm}/grade", params={"purpose": "loan", "as_of": "2024-06-30"},
                            headers={"X-API-Key": bank})
        assert before.status_code == 200
        _truncate(served / "sme")
        reload = client.post("/v1/admin/models/reload", headers={"X-API-Key": admin})
        assert reload.status_code == 503
        assert "model.txt is damaged" in reload.json()["detail"]
        after = client.get(f"/v1/enterprises/{firm}/grade", params={"purpose": "loan", "as_of": "2024-06-30"},
                           headers={"X-API-Key": bank})
        assert after.status_code == 200
        assert after.json()["model_version"] == before.json()["model_version"]
        assert after.json()["pd"] == before.json()["pd"]
    # a restart with the only copy damaged in place: refused at start-up with the file named, not a crash
    from creditscore.service.models import ModelsUnavailable

    with pytest.raises(ModelsUnavailable, match=r"model\.txt is damaged"), TestClient(create_app(settings)):
        pass
