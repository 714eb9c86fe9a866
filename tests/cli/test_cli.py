"""The command line: store set-up, ingest with a summary, and errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from creditscore.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CREDITSCORE_DATABASE_URL", raising=False)


def test_db_init_then_status() -> None:
    assert runner.invoke(app, ["db", "init"]).exit_code == 0
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert "penalties" in result.output


def test_status_before_init_says_what_to_do() -> None:
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 2
    assert "creditscore db init" in result.output


def test_ingest_prints_a_summary_and_the_rejects_file(tmp_path: Path, uscc: str) -> None:
    path = tmp_path / "tax.csv"
    pd.DataFrame({"统一社会信用代码": [uscc, uscc, "bad"], "评价年度": ["2022", "2023", "2023"],
                  "纳税信用等级": ["B", "A", "A"]}).to_csv(path, index=False)
    result = runner.invoke(app, ["ingest", "tax_grades", str(path)])
    assert result.exit_code == 0, result.output
    assert "rejected row(s) of tax_grades" in result.output
    assert (tmp_path / "tax.csv.rejects.csv").exists()
    again = runner.invoke(app, ["ingest", "tax_grades", str(path)])
    assert again.exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["ingest", "fines", "x.csv"], "unknown record kind"),
    (["ingest", "penalties", "does-not-exist.csv"], "no such file"),
])
def test_errors_are_one_line_not_a_traceback(args: list[str], message: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.partial"))  # no half-written rejects file left beside the missing input


def test_kinds_lists_chinese_headers() -> None:
    result = runner.invoke(app, ["kinds"])
    assert result.exit_code == 0
    assert "处罚决定日期" in result.output


def test_demo_data_then_features_for_one_firm_and_everyone(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo-data", "--firms", "60", "--households", "60", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "ingest" in result.output
    from creditscore.store import Store

    uscc = Store.from_settings().records("enterprises")["uscc"].iloc[0]
    one = runner.invoke(app, ["features", "--subject", uscc, "--as-of", "2024-06-30"])
    assert one.exit_code == 0, one.output
    assert "tax_grade_latest" in one.output
    out = tmp_path / "f.csv"
    everyone = runner.invoke(app, ["features", "--segment", "household", "--as-of", "2024-06-30", "--out", str(out)])
    assert everyone.exit_code == 0, everyone.output
    assert len(pd.read_csv(out)) > 50


def test_features_for_an_unknown_firm_is_a_clear_error() -> None:
    runner.invoke(app, ["db", "init"])
    result = runner.invoke(app, ["features", "--subject", "91350100M000100Y43"])
    assert result.exit_code == 2
    assert "no enterprise" in result.output


def test_villages_command(tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo-data", "--firms", "50", "--households", "400", "--seed", "5"]).exit_code == 0
    out = tmp_path / "villages.xlsx"
    result = runner.invoke(app, ["villages", "--as-of", "2024-06-30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    villages = sheets["信用村评定"]
    assert villages["农户数"].sum() == 400
    assert {"是否信用村", "信用户占比", "信用户占比标准", "信用户占比达标", "评定说明"} <= set(villages.columns)
    assert len(sheets["信用乡镇评定"]) >= 1
