"""Installable as a package: a wheel installed (not editable) into a fresh virtual environment grades a demo
subject from its own copy of the catalogue, the policy and the demo bundles — no source tree in sight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_in_a_fresh_environment_grades_a_demo_subject(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    [wheel] = wheels.glob("creditscore-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    # The dependencies come from this environment's site-packages, appended after the fresh one's: its
    # editable creditscore is not activated (a .pth line adds a path, it does not run that path's .pth files).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"  # not the checkout: nothing may be found through the working directory
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITSCORE_")}
    env.update(CREDITSCORE_DATA_DIR=str(work / "data"), CREDITSCORE_MODEL_SOURCE="registry", PYTHONPATH="")
    where = subprocess.run([str(python), "-c", "import creditscore, creditscore.resources as r; "
                            "print(creditscore.__file__); print(r.FEATURES_DIR); print(r.DEMO_BUNDLES)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert all(line.startswith(site) for line in where), where
    assert all("_shipped" in line for line in where[1:]), where

    cli = str(venv / "bin" / "creditscore")
    made = subprocess.run([cli, "demo-data", "--firms", "40", "--households", "40", "--seed", "3"], check=False,
                          cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    firm = subprocess.run([str(python), "-c", "from creditscore.store import Store; "
                           "print(Store.from_settings().records('enterprises')['uscc'].iloc[0])"],
                          cwd=work, env=env, check=True, capture_output=True, text=True).stdout.strip()
    graded = subprocess.run([cli, "grade", firm, "--as-of", "2024-06-30", "--json"], check=False, cwd=work, env=env,
                            capture_output=True, text=True, timeout=300)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    record = json.loads(graded.stdout)
    demo = json.loads((ROOT / "models" / "demo" / "sme" / "bundle.json").read_text())
    assert record["subject_id"] == firm
    assert record["model_version"] == demo["version"]
    assert 0 < record["pd"] < 1
    assert record["final_grade"] in {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"}
