"""Household files as assessors make them: every oddity read or reported, every row accounted for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from creditscore.errors import InvalidRecord, UnreadableFile
from creditscore.records.ids import resident_id_check_char
from creditscore.records.subjects import Segment
from creditscore.rural.batch import BatchResult, grade_household_file
from creditscore.rural.report import render_report
from creditscore.rural.workbook import SHEETS, write_result
from creditscore.service.grading import GradingService
from tests.helpers import synthetic_service

AS_OF = dt.date(2024, 6, 30)
FULL_ID = re.compile(r"\b[1-9]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]\b")
HEADERS = ["序号", "户主姓名", "身份证号", "村代码", "村/村民委员会", "家庭人口（人）", "劳动力", "年收入（万元）",
           "家庭资产", "家庭负债", "采集日期", "备注"]


def _grade(service: GradingService, path: Path, **options: object) -> BatchResult:
    """A household file graded with the service's store and served household scorer."""
    return grade_household_file(service.store, service.models.scorer(Segment.HOUSEHOLD), path, **options)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradingService]:
    service = synthetic_service(tmp_path_factory.mktemp("rural"), seed=5, firms=50, households=500)
    yield service
    service.store.dispose()


@pytest.fixture(scope="module")
def surveys(service: GradingService) -> pd.DataFrame:
    """The latest survey of each household known at the assessment date; only the second has an X-ending ID."""
    s = service.store.records("households", as_of=AS_OF)
    s = s.sort_values("surveyed_on").drop_duplicates("head_id", keep="last")
    s = s[s["head_id"].str.len() == 18]
    x = s["head_id"].str.endswith("X")
    return pd.concat([s[~x].head(1), s[x].head(1), s[~x].iloc[1:]]).reset_index(drop=True)


def _row(r: pd.Series, **edits: object) -> list[object]:
    values = {"序号": None, "户主姓名": r["head_name"], "身份证号": r["head_id"], "村代码": r["village_code"],
              "村/村民委员会": r["village_name"], "家庭人口（人）": int(r["members"]), "劳动力": int(r["labourers"]),
              "年收入（万元）": float(r["annual_income"]) / 100 / 10_000, "家庭资产": f"{float(r['assets']) / 100:.2f}",
              "家庭负债": f"{float(r['liabilities']) / 100:.2f}", "采集日期": r["surveyed_on"].date(), "备注": ""}
    values.update({k.replace("_", "/") if k == "村_村民委员会" else k: v for k, v in edits.items()})
    return [values[h] for h in HEADERS]


def _wrong_check(head_id: str) -> tuple[str, str]:
    right = resident_id_check_char(head_id[:17])
    wrong = "7" if right != "7" else "3"
    return head_id[:17] + wrong, right


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory, surveys: pd.DataFrame) -> tuple[Path, dict[int, str]]:
    """A workbook with a title, notes, blank rows and one of each oddity; returns it and the expected errors."""
    s = surveys
    wb = Workbook()
    ws = wb.active
    ws.append(["石周沟镇2024年农户信用信息采集表"])
    ws.append(["填报单位：村民委员会（盖章）", None, None, "填报日期：2024年6月"])
    ws.append([])
    ws.append(HEADERS)  # row 4
    fullwidth = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    wrong_id, right = _wrong_check(s.loc[8, "head_id"])
    # a household whose ID, cut to 15 significant digits, fails its check (1 in 11 would pass by chance)
    truncated = next(i for i in range(40, len(s))
                     if resident_id_check_char(s.loc[i, "head_id"][:15] + "00") != "0")
    rows = [
        _row(s.loc[0]),  # 5: plain
        _row(s.loc[1], 身份证号=s.loc[1, "head_id"].lower()),  # 6: lower-case x (an X-ending ID)
        _row(s.loc[2], 身份证号=s.loc[2, "head_id"].translate(fullwidth)),  # 7: full-width digits
        _row(s.loc[3], **{"家庭人口（人）": str(int(s.loc[3, "members"])).translate(fullwidth),  # 8: units in cells
                          "劳动力": f"{int(s.loc[3, 'labourers'])}人"}),
        _row(s.loc[4], 家庭资产=f"{float(s.loc[4, 'assets']) / 100:,.2f}",  # 9: thousands separators, 万元 in cells
             家庭负债=f"{float(s.loc[4, 'liabilities']) / 100 / 10_000:g}万元"),
        _row(s.loc[5], **{"年收入（万元）": f"{float(s.loc[5, 'annual_income']) / 100:.0f}元"}),  # 10: unit in cell
        None,  # 11: blank
        _row(s.loc[6], 身份证号=float(s.loc[6, "head_id"])),  # 12: Excel turned the ID into a number
        _row(s.loc[8], 身份证号=wrong_id),  # 13: wrong check character
        _row(s.loc[0], 户主姓名="重复"),  # 14: the household of row 5 again
        _row(s.loc[9], 劳动力=int(s.loc[9, "members"]) + 1),  # 15
        _row(s.loc[10], 户主姓名=None),  # 16
        _row(s.loc[11], 采集日期=dt.date(2024, 8, 1)),  # 17: surveyed after the assessment date
        _row(s.loc[12], **{"年收入（万元）": "三万"}),  # 18
        _row(s.loc[13], 身份证号=s.loc[13, "head_id"][:17]),  # 19: a digit missed
        _row(s.loc[truncated], 身份证号=s.loc[truncated, "head_id"][:15] + "000"),  # 20: 15 significant digits
    ]
    rows += [_row(s.loc[i]) for i in range(15, 40)]  # 21–45
    for i, r in enumerate(rows):
        if r is None:
            ws.append([])
        else:
            r[0] = i + 1
            ws.append(r)
    ws.append([])
    ws.append([])
    path = tmp_path_factory.mktemp("files") / "农户采集表.xlsx"
    wb.save(path)
    expected = {
        12: "身份证号被Excel转成了科学计数法（如1.1E+17），后几位数字已丢失；请将该列设置为“文本”格式后重新录入",
        13: f"身份证号校验位错误：应为{right}，实为{wrong_id[-1]}",
        14: "与第5行为同一户主（身份证号重复）",
        15: "劳动力人数超过家庭人口",
        16: "缺少必填项：户主姓名",
        17: "采集日期2024-08-01晚于评价基准日2024-06-30",
        18: "不是有效金额（示例：12500、12,500.00、1.25万元）",
        19: "身份证号位数错误：应为18位（旧号码15位），实为17位",
        20: "身份证号末三位为000且校验不通过：Excel只保留了15位有效数字；请将该列设置为“文本”格式后重新录入",
    }
    return path, expected


@pytest.fixture(scope="module")
def graded(service: GradingService, messy: tuple[Path, dict[int, str]]) -> BatchResult:
    return _grade(service, messy[0], as_of=AS_OF, chunk_rows=7)  # several chunks


def test_every_row_is_graded_or_explained_with_its_row_number(graded: BatchResult,
                                                               messy: tuple[Path, dict[int, str]]) -> None:
    _, expected = messy
    assert graded.rows == 40  # the blank rows, title and notes are not rows
    assert graded.scored_rows + graded.rejected_rows == graded.rows
    assert dict(zip(graded.errors["row"], graded.errors["reason_zh"], strict=True)) == expected
    assert set(graded.households["row"]) == set(range(5, 11)) | set(range(21, 46))


def test_the_oddities_that_can_be_read_are_read_like_clean_values(service: GradingService, graded: BatchResult,
                                                                   surveys: pd.DataFrame, tmp_path: Path) -> None:
    """Rows 5–10 hold lower-case x, full-width digits, separators and units; a clean file must grade them alike."""
    clean = pd.DataFrame([dict(zip(HEADERS, _row(surveys.loc[i]), strict=True)) for i in range(6)])
    clean["年收入（万元）"] = clean["年收入（万元）"].map(lambda v: f"{v:.6f}")
    path = tmp_path / "clean.csv"
    clean.astype(str).to_csv(path, index=False)
    reference = _grade(service, path, as_of=AS_OF)
    assert reference.rejected_rows == 0
    messy_rows = graded.households[graded.households["row"] <= 10].reset_index(drop=True)
    pd.testing.assert_series_equal(messy_rows["pd"], reference.households["pd"], check_names=False)
    assert list(messy_rows["grade"]) == list(reference.households["grade"])
    assert any("万元" in n for n in graded.notes)


def test_results_are_masked_and_carry_terms_and_chinese_reasons(graded: BatchResult) -> None:
    hh = graded.households
    assert not FULL_ID.search(hh.to_csv())
    assert not FULL_ID.search(graded.errors.to_csv())
    assert set(hh["grade"]) <= {"AAA", "AA", "A", "非信用户"}
    assert (hh.loc[hh["grade"] == "非信用户", "credit_line_yuan"] == 0).all()
    assert (hh.loc[hh["grade"] != "非信用户", "credit_line_yuan"] > 0).all()
    given = hh["reasons_zh"] != ""  # a household with nothing adverse has no adverse reason to give
    assert given.mean() > 0.8
    assert hh.loc[given, "reasons_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    # favourable facts are listed apart, and no "none" fact is ever a deduction
    assert (hh["strengths_zh"] != "").mean() > 0.8
    deductions = hh["reasons_zh"].str.split("；").explode()
    strengths = hh["strengths_zh"].str.split("；").explode()
    assert not set(deductions) & set(strengths) - {""}
    assert not deductions.str.contains(r"(?<![\d,.])0(元|天前|笔|个月)|无逾期|无负债|无未结清", regex=True).any()
    assert graded.model_version
    assert graded.policy_version


def test_the_workbook_read_back_matches_a_hand_computation_of_the_village_criteria(
        service: GradingService, graded: BatchResult, tmp_path: Path) -> None:
    out = write_result(graded, tmp_path / "结果.xlsx", source="农户采集表.xlsx")[0]
    sheets = pd.read_excel(out, sheet_name=None, dtype={"村代码": str}, engine="openpyxl")
    assert set(sheets) == set(SHEETS.values())
    households, villages = sheets[SHEETS["households"]], sheets[SHEETS["villages"]]
    assert len(households) + sheets[SHEETS["errors"]]["行号"].nunique() == 40

    heads = dict(zip(graded.households["row"], graded.households["head_id"], strict=True))  # masked
    originals = service.store.records("households", as_of=AS_OF).drop_duplicates("head_id")
    by_mask = {h[:6] + "********" + h[-4:]: h for h in originals["head_id"]}
    loans = service.store.records("loans", as_of=AS_OF)
    arrears = service.store.records("delinquencies", as_of=AS_OF)
    t = pd.Timestamp(AS_OF)
    policy = service.policy.rural_assessment
    for village, rows in households.groupby("村代码"):
        members = [by_mask[heads[r]] for r in rows["行号"]]
        credit = sum(g in ("AAA", "AA", "A") for g in rows["信用等级"])
        borrowers = late = 0
        outstanding = npl = 0.0
        for head in members:
            mine = loans[(loans["subject_id"] == head) & (loans["opened_on"] <= t)
                         & (loans["closed_on"].isna() | (loans["closed_on"] > t))
                         & (loans["written_off_on"].isna() | (loans["written_off_on"] > t))]
            if len(mine) == 0:
                continue
            borrowers += 1
            amounts = mine["amount"].astype(float) / 100
            bad = amounts[(mine["default_on"] <= t).fillna(False)].sum()
            outstanding += amounts.sum()
            npl += bad
            started = arrears.loc[arrears["subject_id"] == head, "started_on"]
            late += bool(bad > 0 or ((started <= t) & (started > t - pd.Timedelta(days=365))).any())
        row = villages.set_index("村代码").loc[village]
        criteria = policy.criteria_for(village)
        assert row["农户数"] == len(members)
        assert row["信用户占比"] == pytest.approx(round(credit / len(members), 4))
        assert row["信用户占比达标"] == ("是" if credit / len(members) >= criteria.credit_household_share else "否")
        if borrowers:
            assert row["按时还款率"] == pytest.approx(round(1 - late / borrowers, 4))
        if outstanding:
            assert row["不良贷款率"] == pytest.approx(round(npl / outstanding, 4))
        listed = int(row["名册户数"])  # the file's rows for the village, graded or not
        assert listed >= len(members)
        assessed = len(members) / listed >= policy.min_graded_share
        met = (assessed and credit / len(members) >= criteria.credit_household_share
               and (not borrowers or 1 - late / borrowers >= criteria.on_time_repayment)
               and (not outstanding or npl / outstanding <= criteria.npl_ratio))
        assert row["是否信用村"] == ("是" if met else "否")
        assert row["评定说明"].startswith("适用标准均达到") == met
        assert row["评定说明"].startswith("未评定") == (not assessed)


def test_csv_and_parquet_outputs_keep_every_table(graded: BatchResult, tmp_path: Path) -> None:
    for suffix in (".csv", ".parquet"):
        files = write_result(graded, tmp_path / f"out{suffix}")
        assert [f.name for f in files] == [f"out.{t}{suffix}" for t in ("households", "villages", "townships",
                                                                       "errors")]
        back = pd.read_csv(files[0]) if suffix == ".csv" else pd.read_parquet(files[0])
        assert len(back) == graded.scored_rows


def test_the_report_is_printable_html_with_the_charts_and_the_errors(service: GradingService,
                                                                     graded: BatchResult) -> None:
    html = render_report(graded, service.catalogues["household"], source="农户采集表.xlsx")
    assert html.count("<svg") == 3  # share against threshold, grades by township, reasons
    assert "@media print" in html
    assert "<script" not in html
    for village in graded.villages["village_name"]:
        assert village in html
    assert "身份证号校验位错误" in html
    assert not FULL_ID.search(html)


def test_what_a_file_says_is_text_in_the_report_never_markup(service: GradingService, graded: BatchResult) -> None:
    """A name in a committee's file is data: written into the printable report it is escaped, so a file cannot
    put a script or a link into the page an assessor opens (the template's autoescape was off once)."""
    import dataclasses

    hostile = "<script>alert(1)</script><a href=//evil>村</a>"
    errors = graded.errors.copy()
    errors.loc[errors.index[0], "value"] = hostile
    villages = graded.villages.copy()
    villages.loc[villages.index[0], "village_name"] = hostile
    html = render_report(dataclasses.replace(graded, errors=errors, villages=villages),
                         service.catalogues["household"], source="<img src=x onerror=alert(1)>.xlsx")
    assert "<script>alert" not in html
    assert "<a href=//evil>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_a_gb18030_csv_with_a_title_line_and_scientific_ids(service: GradingService, surveys: pd.DataFrame,
                                                            tmp_path: Path) -> None:
    rows = [_row(surveys.loc[i]) for i in range(20, 26)]
    rows[2][2] = "4.10882E+17"
    frame = pd.DataFrame(rows, columns=HEADERS).astype(str)
    path = tmp_path / "农户.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        fh.write("某村农户信息采集表\n\n")
        frame.to_csv(fh, index=False)
    result = _grade(service, path, as_of=AS_OF)
    assert (result.rows, result.scored_rows) == (6, 5)
    assert result.errors["row"].tolist() == [6]  # line 1 title, 2 blank, 3 headers
    assert "科学计数法" in result.errors["reason_zh"].iloc[0]


def test_parquet_with_english_headers_and_numeric_columns(service: GradingService, surveys: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    s = surveys.iloc[30:40]
    frame = pd.DataFrame({
        "head_id": s["head_id"], "head_name": s["head_name"], "county_code": s["county_code"],
        "county_name": s["county_name"], "township_code": s["township_code"], "township_name": s["township_name"],
        "village_code": s["village_code"], "village_name": s["village_name"], "members": s["members"].astype(int),
        "labourers": s["labourers"].astype(int), "annual_income": s["annual_income"].astype(float) / 100,
        "assets": s["assets"].astype(float) / 100, "liabilities": s["liabilities"].astype(float) / 100,
        "surveyed_on": s["surveyed_on"]})
    path = tmp_path / "households.parquet"
    frame.to_parquet(path, index=False)
    result = _grade(service, path, as_of=AS_OF)
    assert (result.rows, result.scored_rows, result.rejected_rows) == (10, 10, 0)
    assert len(result.notes) == 2  # no location had to be derived; two optional facts come from the store
    assert all("latest stored survey" in n for n in result.notes)


def test_files_that_cannot_be_graded_say_why(service: GradingService, tmp_path: Path) -> None:
    broken = tmp_path / "农户.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UnreadableFile, match="Excel"):
        _grade(service, broken, as_of=AS_OF)
    no_ids = tmp_path / "no_ids.csv"
    pd.DataFrame({"户主姓名": ["张三"], "村代码": ["410882101201"]}).to_csv(no_ids, index=False)
    with pytest.raises(InvalidRecord, match="户主身份证号"):
        _grade(service, no_ids, as_of=AS_OF)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UnreadableFile, match="empty"):
        _grade(service, empty, as_of=AS_OF)


def test_the_command_writes_workbook_and_report_and_audits_the_query(
        service: GradingService, messy: tuple[Path, dict[int, str]], graded: BatchResult, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from creditscore.cli import app
    from creditscore.service.audit import query_audit

    monkeypatch.setenv("CREDITSCORE_DATA_DIR", str(service.settings.data_dir))
    monkeypatch.setenv("CREDITSCORE_MODEL_SOURCE", "demo")
    monkeypatch.delenv("CREDITSCORE_DATABASE_URL", raising=False)
    out = tmp_path / "结果.xlsx"
    runner = CliRunner()
    result = runner.invoke(app, ["households", "score", str(messy[0]), "--as-of", AS_OF.isoformat(),
                                 "--out", str(out), "--authorization-ref", "SQ-2024-018"])
    assert result.exit_code == 0, result.output
    counts = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.output.splitlines()
              if line.count("│") == 3}
    assert counts["rows read"] == f"{graded.rows:,}"
    assert counts["graded"] == f"{graded.scored_rows:,}"
    assert counts["not graded (errors sheet)"] == f"{graded.rejected_rows:,}"
    assert out.exists()
    assert out.with_suffix(".html").exists()
    log = query_audit(service.store)
    assert (log["authorization_ref"] == "SQ-2024-018").any()

    missing = runner.invoke(app, ["households", "score", str(tmp_path / "nope.xlsx"),
                                  "--authorization-ref", "A-1234"])
    assert missing.exit_code == 2
    assert "no such file" in missing.output
    assert "Traceback" not in missing.output
    unauthorised = runner.invoke(app, ["households", "score", str(messy[0])])
    assert unauthorised.exit_code != 0
    assert "authorization-ref" in unauthorised.output


def test_a_household_in_the_batch_gets_the_answer_it_gets_alone(service: GradingService, graded: BatchResult,
                                                                 surveys: pd.DataFrame) -> None:
    """The file repeats the stored survey, so the batch and the one-subject path must agree exactly."""
    rows = graded.households.set_index("row")
    for file_row, i in ((21, 15), (30, 24), (45, 39)):
        alone = service.grade(surveys.loc[i, "head_id"], as_of=AS_OF)
        mine = rows.loc[file_row]
        assert mine["pd"] == pytest.approx(alone.pd, abs=1e-6)
        assert mine["grade"] == alone.final_grade
        adverse = [r.text_zh for r in alone.reasons if r.kind == "adverse"]
        assert mine["reasons_zh"] == "；".join(adverse)


def test_a_table_longer_than_a_worksheet_continues_on_the_next(graded: BatchResult, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import creditscore.rural.workbook as output

    monkeypatch.setattr(output, "SHEET_ROWS", 10)
    path = write_result(graded, tmp_path / "split.xlsx")[0]
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    parts = [name for name in sheets if name.startswith(SHEETS["households"])]
    assert parts == [SHEETS["households"], f"{SHEETS['households']} (2)", f"{SHEETS['households']} (3)",
                     f"{SHEETS['households']} (4)"]
    assert sum(len(sheets[p]) for p in parts) == graded.scored_rows


def test_a_township_workbook_with_a_sheet_per_village(service: GradingService, surveys: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    """Instructions first, then one sheet per village with its own title; a household entered twice."""
    wb = Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请每村一张表，身份证号列设为文本格式。"])
    east, west = wb.create_sheet("东村"), wb.create_sheet("西村")
    for ws, rows in ((east, range(50, 56)), (west, range(56, 60))):
        ws.append([f"{ws.title}农户信息采集表"])
        ws.append(HEADERS)
        for i in rows:
            ws.append(_row(surveys.loc[i]))
    west.append(_row(surveys.loc[52]))  # row 7 of 西村 repeats row 5 of 东村
    path = tmp_path / "乡镇汇总.xlsx"
    wb.save(path)
    result = _grade(service, path, as_of=AS_OF)
    assert (result.rows, result.scored_rows, result.rejected_rows) == (11, 10, 1)
    assert result.households.groupby("sheet").size().to_dict() == {"东村": 6, "西村": 4}
    assert result.households["sheet"].tolist()[:6] == ["东村"] * 6  # in workbook order
    error = result.errors.iloc[0]
    assert (error["sheet"], error["row"]) == ("西村", 7)
    assert error["reason_zh"] == "与“东村”表第5行为同一户主（身份证号重复）"
    assert any("填表说明" in n for n in result.notes)
    sheets = pd.read_excel(write_result(result, tmp_path / "out.xlsx")[0], sheet_name=None, engine="openpyxl")
    assert sheets[SHEETS["errors"]][["工作表", "行号"]].values.tolist() == [["西村", 7]]
    assert set(sheets[SHEETS["households"]]["工作表"]) == {"东村", "西村"}


def test_counts_add_up_with_bad_rows_at_the_same_row_number_on_two_sheets(service: GradingService,
                                                                          surveys: pd.DataFrame,
                                                                          tmp_path: Path) -> None:
    wb = Workbook()
    first, second = wb.active, wb.create_sheet("西村")
    first.title = "东村"
    for ws, rows in ((first, range(63, 66)), (second, range(66, 69))):
        ws.append(HEADERS)
        for i in rows:
            ws.append(_row(surveys.loc[i]))
        ws.cell(row=3, column=HEADERS.index("身份证号") + 1, value="not an ID")  # row 3 of each sheet
    wb.save(tmp_path / "two-bad.xlsx")
    result = _grade(service, tmp_path / "two-bad.xlsx", as_of=AS_OF)
    assert (result.rows, result.scored_rows, result.rejected_rows) == (6, 4, 2)
    assert result.scored_rows + result.rejected_rows == result.rows
    summary = pd.read_excel(write_result(result, tmp_path / "out.xlsx")[0], sheet_name=SHEETS["summary"],
                            engine="openpyxl").set_index("项目 item")["内容 value"]
    assert int(summary["未评级（见“错误”表） not graded (see errors)"]) == 2


def test_a_sheet_missing_a_required_column_is_named(service: GradingService, surveys: pd.DataFrame,
                                                    tmp_path: Path) -> None:
    wb = Workbook()
    good, bad = wb.active, wb.create_sheet("北村")
    good.title = "南村"
    good.append(HEADERS)
    good.append(_row(surveys.loc[61]))
    bad.append([h for h in HEADERS if h != "身份证号"])
    bad.append([v for h, v in zip(HEADERS, _row(surveys.loc[62]), strict=True) if h != "身份证号"])
    wb.save(tmp_path / "two.xlsx")
    with pytest.raises(InvalidRecord, match=r"worksheet '北村'.*户主身份证号"):
        _grade(service, tmp_path / "two.xlsx", as_of=AS_OF)


def test_the_result_does_not_depend_on_the_chunk_size(service: GradingService, graded: BatchResult,
                                                      messy: tuple[Path, dict[int, str]]) -> None:
    """Duplicates are found within a chunk as across chunks: one chunk gives what chunks of 7 gave."""
    whole = _grade(service, messy[0], as_of=AS_OF, chunk_rows=10_000)
    pd.testing.assert_frame_equal(whole.errors, graded.errors, check_dtype=False)
    pd.testing.assert_frame_equal(whole.households, graded.households, check_dtype=False)


def test_the_row_limit_is_the_settings(service: GradingService, surveys: pd.DataFrame, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "five.csv"
    pd.DataFrame([_row(surveys.loc[i]) for i in range(5)], columns=HEADERS).to_csv(path, index=False)
    monkeypatch.setenv("CREDITSCORE_BATCH_MAX_ROWS", "3")
    with pytest.raises(UnreadableFile, match="5 rows, over the 3-row limit"):
        _grade(service, path, as_of=AS_OF)
    monkeypatch.setenv("CREDITSCORE_BATCH_MAX_ROWS", "5")
    assert _grade(service, path, as_of=AS_OF).rows == 5
