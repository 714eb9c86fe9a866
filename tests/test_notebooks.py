"""The analysts' notebooks run from a clean clone on small demo data, and are committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_four_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    book = json.loads(path.read_text(encoding="utf-8"))
    for cell in book["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: strip outputs before committing (see README)"
            assert cell["execution_count"] is None


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo store (the notebooks would load the full demo population into an empty one)."""
    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth.feeds import load_demo

    folder = tmp_path_factory.mktemp("notebooks")
    settings = Settings(data_dir=folder / "data")
    load_demo(Store(settings.store_url), folder / "feeds", firms=1_500, households=1_500, seed=20240630)
    return settings.data_dir


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom(path: Path, demo_store: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(demo_store))
    monkeypatch.delenv("CREDITSCORE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDITSCORE_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any failing cell
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
