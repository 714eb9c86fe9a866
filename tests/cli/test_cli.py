"""The command line: store set-up, ingest with a summary, and errors without tracebacks."""

from __future__ import annotations

import re
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


# --- every command's bad-argument paths: one sentence, exit code 2, no traceback, no full resident ID ----------

UNKNOWN_PERSON = "11010519491231002X"  # valid, not in the store


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A store with a few firms and households, a household file, and one firm's code."""
    folder = tmp_path_factory.mktemp("cli-errors")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CREDITSCORE_DATA_DIR", str(folder / "data"))
        mp.delenv("CREDITSCORE_DATABASE_URL", raising=False)
        made = runner.invoke(app, ["demo-data", "--firms", "30", "--households", "30", "--seed", "4"])
        assert made.exit_code == 0, made.output
        from creditscore.store import Store

        store = Store.from_settings()
        firm = str(store.records("enterprises")["uscc"].iloc[0])
        households = store.records("households").head(5)
    roster = folder / "农户.csv"
    households[["head_name", "head_id", "village_code", "village_name", "members", "labourers",
                "annual_income", "assets", "liabilities"]].to_csv(roster, index=False)
    return folder / "data", firm, roster


def _said(output: str) -> str:
    """The output as one line: rich wraps long messages inside a box."""
    return " ".join(output.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


BAD_ARGUMENTS = [
    (["apikey", "revoke", "abc"], "at least the first 6 characters"),
    (["apikey", "revoke", "cs_nothing_like_it"], "no active key starts with"),
    (["apikey", "create", "--institution", "某某银行", "--role", "banker"], "'banker' is not one of"),
    (["apikey", "create", "--institution", "  ", "--role", "bank"], "belongs to an institution"),
    (["grade", "91350100M000100Y4X"], "check character"),
    (["grade", "91350100M000100Y43"], "in the store"),
    (["grade", UNKNOWN_PERSON], "in the store"),
    (["grade", "{firm}", "--as-of", "2024-13-45"], "is not a date"),
    (["features", "--segment", "firms"], "'firms' is not one of"),
    (["features", "--as-of", "yesterday"], "is not a date"),
    (["features", "--subject", "not-a-code"], "USCC"),
    (["villages", "--as-of", "30/06/2024"], "is not a date"),
    (["train", "--source", "nowhere"], "source must be store or synthetic"),
    (["train", "--segment", "people"], "'people' is not one of"),
    (["promote", "--segment", "sme", "--version", "99"], "has no version 99"),
    (["monitor", "--date", "someday"], "is not a date"),
    (["monitor", "--date", "1990-06-30"], "nothing to monitor"),
    (["monitor", "--model", "/no/such/folder"], "is not a model bundle"),
    (["demo-data", "--format", "doc", "--no-load", "--firms", "5", "--households", "5"], "format must be"),
    (["ingest", "fines", "x.csv"], "unknown record kind"),
    (["ingest", "penalties", "does-not-exist.csv"], "no such file"),
    (["objection", "file", "fines", "k", "--by", "x", "--reason", "y"], "unknown record kind"),
    (["objection", "file", "penalties", f"{UNKNOWN_PERSON}|k", "--by", "x", "--reason", "y"], "no penalties record"),
    (["objection", "resolve", "999", "--by", "x", "--upheld"], "no objection with id 999"),
    (["objection", "resolve", "1", "--by", "x", "--upheld", "--set", "amount"], "field=value"),
    (["households", "score", "missing.xlsx", "--authorization-ref", "A-1234"], "no such file"),
    (["households", "score", "{roster}", "--authorization-ref", "A"], "authorisations"),
    (["households", "score", "{roster}", "--authorization-ref", "A-1234", "--out", "x.docx"],
     "output must end in one of"),
    (["households", "score", "{roster}", "--authorization-ref", "A-1234", "--as-of", "June"], "is not a date"),
    (["households", "score", "{roster}", "--authorization-ref", "A-1234", "--columns", "none.yaml"], "no such file"),
    (["households", "score", "{roster}", "--authorization-ref", "A-1234", "--columns", "{roster}"],
     "a column mapping is 'columns:'"),
    (["households", "score", "{roster}", "--authorization-ref", "A-1234", "--village-code", "41"], "12 digits"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS, ids=[" ".join(a[:3]) for a, _ in BAD_ARGUMENTS])
def test_every_bad_argument_is_one_sentence(args: list[str], message: str, small_store: tuple[Path, str, Path],
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, firm, roster = small_store
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [a.format(firm=firm, roster=roster) for a in args])
    assert isinstance(result.exception, SystemExit), result.exception  # not an exception escaping the command
    assert result.exit_code == 2, result.output
    assert message in _said(result.output)
    assert UNKNOWN_PERSON not in result.output
    assert not list(tmp_path.glob("*评级结果*"))  # nothing written for a refused run


def test_a_sample_workbook_graded_then_its_mapping_reused(small_store: tuple[Path, str, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's path for a newcomer: write the sample township workbook, grade it, save the column mapping
    the summary prints and grade again with it."""
    data, _, _ = small_store
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(data))
    book = tmp_path / "sample.xlsx"
    made = runner.invoke(app, ["households", "sample", "--out", str(book), "--villages", "2", "--per-village", "15"])
    assert made.exit_code == 0, made.output
    assert book.is_file()
    mapping = tmp_path / "mapping.yaml"
    args = ["households", "score", str(book), "--authorization-ref", "DEMO-0001", "--as-of", "2024-06-30"]
    first = runner.invoke(app, [*args, "--save-columns", str(mapping)])
    assert first.exit_code == 0, first.output
    said = _said(first.output)
    lines = re.search(r"(\d+) totals and signature lines", _said(made.output)).group(1)
    assert f"not households (totals, notes…) {lines}" in said
    assert "负债(元) → 家庭负债 (liabilities), in 元" in said
    assert "columns:" in mapping.read_text(encoding="utf-8")
    again = runner.invoke(app, [*args, "--columns", str(mapping)])
    assert again.exit_code == 0, again.output
    assert "the column mapping given" in _said(again.output)


def test_user_create_list_disable_and_demo_logins(tmp_path: Path) -> None:
    """Passwords come from a prompt or standard input, never the command line; demo logins are fresh per start."""
    from creditscore.cli.common import _store
    from creditscore.cli.service import demo_logins
    from creditscore.errors import CreditScoreError
    from creditscore.service.accounts import LoginFailed, authenticate

    made = runner.invoke(app, ["user", "create", "li.hua", "--role", "assessor", "--institution", "石门乡人民政府",
                               "--password-stdin"], input="a long enough password\n")
    assert made.exit_code == 0, made.output
    short = runner.invoke(app, ["user", "create", "wang", "--role", "bank", "--institution", "某行",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    assert "10 characters" in short.output
    listed = runner.invoke(app, ["user", "list"])
    assert "li.hua" in listed.output
    assert "a long enough password" not in listed.output
    store = _store()
    assert authenticate(store, "li.hua", "a long enough password").role.value == "assessor"
    assert runner.invoke(app, ["user", "disable", "li.hua"]).exit_code == 0
    with pytest.raises(LoginFailed):
        authenticate(store, "li.hua", "a long enough password")
    first = demo_logins(store)
    second = demo_logins(store)
    for role, (name, password) in second.items():
        assert authenticate(store, name, password).role is role
        with pytest.raises(CreditScoreError):
            authenticate(store, name, first[role][1])


def test_a_report_written_by_the_cli_and_verified(small_store: tuple[Path, str, Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data, uscc, _ = small_store
    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(data))
    out = tmp_path / "report.pdf"
    made = runner.invoke(app, ["report", uscc, "--out", str(out), "--as-of", "2024-06-30"])
    assert made.exit_code == 0, made.output
    assert out.read_bytes()[:5] == b"%PDF-"
    assert runner.invoke(app, ["verify-report", str(out)]).exit_code == 0  # the number is read from the file
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 1
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(bytes(data))
    refused = runner.invoke(app, ["verify-report", str(forged)])
    assert refused.exit_code == 1
    assert "改动" in refused.output
    wrong = runner.invoke(app, ["report", uscc, "--out", str(tmp_path / "r.docx")])
    assert wrong.exit_code != 0
    assert ".pdf or .html" in _said(wrong.output)
