"""MLflow: runs logged, bundles registered, the champion alias loaded and moved; the train command end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from creditscore.cli import app
from creditscore.features import load_catalogue
from creditscore.modeling.registry import RegistryError, load_registered, log_training, promote
from creditscore.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CREDITSCORE_MLFLOW_TRACKING_URI", raising=False)
    return Settings()


def test_register_load_champion_and_promote(settings: Settings, tmp_path: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    from creditscore.modeling.report import write_report
    from creditscore.modeling.train import train_segment
    from creditscore.synth import SynthConfig, generate

    population = generate(SynthConfig(seed=2, n_firms=2_500, n_households=300))
    result = train_segment(population.tables, "sme", population.observation_dates())
    dirs = {f: r.bundle.save(tmp_path / "bundles" / f) for f, r in result.families.items()}
    _, html = write_report(result, tmp_path / "report")
    capfd.readouterr()
    logged = log_training(result, dirs, html.parent, settings=settings)
    assert {e["alias"] for e in logged.values()} == {"champion", f"challenger-{_other(result.champion)}"}
    said = capfd.readouterr()
    noise = said.out + said.err  # MLflow's bars, registry lines and warnings stay out of an analyst's terminal
    assert "Downloading artifacts" not in noise
    assert "input example" not in noise
    assert "Created version" not in noise

    catalogue = load_catalogue("sme")
    champion = load_registered("sme", catalogue=catalogue, settings=settings)
    assert champion.family == result.champion
    frame = pd.DataFrame([[0.0] * len(catalogue.ids)], columns=catalogue.ids)
    pd.testing.assert_frame_equal(champion.predict(frame), result.champion_bundle.predict(frame))

    challenger_version = logged[_other(result.champion)]["version"]
    promote("sme", challenger_version, settings=settings)
    assert load_registered("sme", settings=settings).family == _other(result.champion)
    with pytest.raises(RegistryError, match="no version 99"):
        promote("sme", 99, settings=settings)
    with pytest.raises(RegistryError, match="creditscore-household@champion"):
        load_registered("household", settings=settings)


def _other(family: str) -> str:
    return "scorecard" if family == "gbm" else "gbm"


def test_train_command_on_synthetic_data(settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    export = tmp_path / "demo" / "household"
    result = runner.invoke(app, ["train", "--segment", "household", "--source", "synthetic", "--households", "3000",
                                 "--firms", "200", "--no-register", "--export", str(export)])
    assert result.exit_code == 0, result.output
    assert "oracle AUC" in result.output
    assert (export / "bundle.json").is_file()
    reports = list((settings.data_dir / "reports" / "household").glob("*/report.html"))
    assert len(reports) == 1
