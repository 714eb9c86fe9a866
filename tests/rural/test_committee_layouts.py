"""Rosters laid out as village committees make them, checked row by row.

Every layout here is built the way a committee fills in a sheet: a title naming the township and village, a
filler line, the committee's own headers, blank rows, totals, signatures. For each: graded + reported = the
households in the file, every bad row is reported with its own serial number (序号), and no line that is not a
household is graded or counted as rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from creditscore.errors import InvalidRecord
from creditscore.records.contracts import KINDS
from creditscore.records.ids import resident_id_check_char
from creditscore.records.vocabulary import match_headers, parse_mapping
from creditscore.rural.batch import BatchResult, RosterOptions
from creditscore.rural.places import Places, context_from_text
from creditscore.rural.workbook import write_result
from creditscore.service.grading import GradingService
from tests.rural.test_batch import AS_OF, _grade, service, surveys  # noqa: F401  (module fixtures)

EVALUATION = {"excellent": "优", "good": "良", "fair": "中", "poor": "差"}


def _bad_id(head_id: str) -> str:
    right = resident_id_check_char(head_id[:17])
    return head_id[:17] + ("7" if right != "7" else "3")


def _committee_row(serial: int, r: pd.Series, *, income_unit: float = 1.0,
                   evaluation: dict[str, str] = EVALUATION) -> dict[str, object]:
    """One household as a committee writes it: yuan as plain numbers, the evaluation in its own words."""
    value = r["village_evaluation"]
    return {"serial": serial, "name": r["head_name"], "id": r["head_id"], "members": int(r["members"]),
            "labourers": int(r["labourers"]), "income": round(float(r["annual_income"]) / 100 / income_unit, 4),
            "assets": float(r["assets"]) / 100, "liabilities": float(r["liabilities"]) / 100,
            "evaluation": evaluation.get(str(value), "") if isinstance(value, str) else "",
            "village": r["village_name"], "village_code": r["village_code"], "township": r["township_name"]}


def _sheet(ws: Worksheet, headers: dict[str, str], rows: list[dict[str, object]], *, top: list[list[object]] = (),
           bottom: list[list[object]] = (), blank_every: int = 0, repeat_header_at: int | None = None) -> None:
    """Write a committee's sheet: lines above, headers (key → header text), rows, lines below."""
    for line in top:
        ws.append(line)
    ws.append(list(headers.values()))
    for i, row in enumerate(rows):
        if repeat_header_at is not None and i == repeat_header_at:
            ws.append(list(headers.values()))  # the header printed again at the top of page 2
        ws.append([row.get(k) for k in headers])
        if blank_every and i % blank_every == blank_every - 1:
            ws.append([])
    for line in bottom:
        ws.append(line)


def _account(result: BatchResult, households: int, skipped: int) -> None:
    """Every household in the file graded or reported; the non-household lines neither."""
    assert result.scored_rows + result.rejected_rows == households, (result.scored_rows, result.rejected_rows)
    assert result.skipped_lines == skipped, result.notes
    assert result.rows == households + skipped


@pytest.fixture(scope="module")
def village(surveys: pd.DataFrame) -> pd.DataFrame:  # noqa: F811
    """Thirty households of one village."""
    name = surveys["village_name"].value_counts().index[0]
    return surveys[surveys["village_name"] == name].head(30).reset_index(drop=True)


def _book(path: Path, build: Callable[[Workbook], None]) -> Path:
    wb = Workbook()
    build(wb)
    wb.save(path)
    return path


def test_a_single_village_named_only_in_its_title(service: GradingService, village: pd.DataFrame,  # noqa: F811
                                                  tmp_path: Path) -> None:
    """Title, filler line, the committee's headers (负债(元), 村委评价 with 优/良/中/差), blank rows, a totals line and
    signatures; no village column and no codes: the village comes from the title and the store's geography."""
    v = village.iloc[0]
    rows = [_committee_row(i + 1, r) for i, r in village.iterrows()]
    rows[3]["id"] = _bad_id(rows[3]["id"])  # a wrong check digit
    rows[7]["members"] = None  # a missing household size
    headers = {"serial": "序号", "name": "户主", "id": "身份证号码", "members": "家庭人口", "labourers": "劳动力",
               "income": "家庭年收入(元)", "assets": "资产(元)", "liabilities": "负债(元)", "evaluation": "村委评价",
               "phone": "联系电话", "remark": "备注"}
    path = _book(tmp_path / "roster.xlsx", lambda wb: _sheet(
        wb.active, headers, rows, blank_every=10,
        top=[[f"{v['township_name']}{v['village_name']}2024年农户信用评级登记表"],
             ["填报单位：村民委员会（盖章）", None, None, None, "填报日期：2024年6月"]],
        bottom=[["合计", None, None, sum(r["members"] or 0 for r in rows)],
                ["填表人：张三", None, None, "审核人：李四", None, "联系电话：13800000000"]]))
    result = _grade(service, path, as_of=AS_OF)
    _account(result, households=30, skipped=2)  # the totals and the signatures; the filler is above the headers
    assert result.scored_rows == 28
    errors = result.errors.set_index("serial")
    assert set(errors.index) == {"4", "8"}
    assert errors.loc["4", "head_name"] == rows[3]["name"]
    assert "check" in errors.loc["4", "reason"]
    assert set(result.households["village_code"]) == {v["village_code"]}  # found by the title's name
    assert any("found by its name" in n for n in result.notes)
    assert any(c == "负债(元) → 家庭负债 (liabilities), in 元" for c in result.columns_read)
    assert any("村委评价 → 村委会评价" in c for c in result.columns_read)
    unique = village.drop_duplicates("head_name", keep=False)[["head_name", "village_evaluation"]]
    graded_eval = result.households.merge(unique, on="head_name")
    said = graded_eval["village_evaluation"].notna()
    assert said.any()
    # the evaluation was read: no household with an evaluation is explained as having none
    assert not graded_eval.loc[said, "reasons_zh"].str.contains("村委会评价：无记录").any()
    assert len(result.villages) == 1
    assert result.villages["listed"].iloc[0] == 30


def test_a_township_workbook_with_a_sheet_per_village(service: GradingService, surveys: pd.DataFrame,  # noqa: F811
                                                      tmp_path: Path) -> None:
    """One sheet per village, each named after it, each with a title, a subtotal and signatures, and a sheet of
    instructions: every village resolved by name, the instructions sheet skipped."""
    villages = list(surveys.groupby("village_name"))[:3]
    headers = {"serial": "序号", "name": "户主姓名", "id": "公民身份号码", "village": "村名", "members": "人口数",
               "labourers": "劳力", "income": "年纯收入/元", "assets": "家庭总资产（元）",
               "liabilities": "负债总额（元）", "evaluation": "评议结果"}
    words = {"excellent": "好", "good": "较好", "fair": "一般", "poor": "差"}

    def build(wb: Workbook) -> None:
        wb.active.title = "填表说明"
        wb.active.append(["本表由村委会填写，金额单位为元。"])
        for name, group in villages:
            ws = wb.create_sheet(name)
            rows = [_committee_row(i + 1, r, evaluation=words) for i, (_, r) in enumerate(group.head(12).iterrows())]
            _sheet(ws, headers, rows, top=[[f"{name}农户信用信息登记表"]],
                   bottom=[["小计", None, None, None, sum(r["members"] for r in rows)], ["评议小组签字："]])

    path = _book(tmp_path / "township.xlsx", build)
    result = _grade(service, path, as_of=AS_OF)
    n = sum(min(len(g), 12) for _, g in villages)
    _account(result, households=n, skipped=2 * len(villages))
    assert result.rejected_rows == 0
    assert set(result.households["village_code"]) == {g["village_code"].iloc[0] for _, g in villages}
    assert any("填表说明" in note for note in result.notes)
    assert len(result.villages) == len(villages)


def test_errors_of_a_township_workbook_name_their_own_sheet_row_and_serial(
        service: GradingService, surveys: pd.DataFrame, tmp_path: Path) -> None:  # noqa: F811
    """Sheets are parsed together for speed; each error must still come back to its own sheet, row and serial
    number — a bad ID on every sheet at a different place, and a household listed again on a later sheet."""
    villages = list(surveys.groupby("village_name"))[:3]
    headers = {"serial": "序号", "name": "户主姓名", "id": "身份证号", "village": "村", "members": "人口",
               "labourers": "劳动力", "income": "年收入", "assets": "资产", "liabilities": "负债",
               "evaluation": "村委评价"}
    first = villages[0][1].iloc[0]
    expected = set()

    def build(wb: Workbook) -> None:
        wb.remove(wb.active)
        for k, (name, group) in enumerate(villages):
            rows = [_committee_row(100 * k + i + 1, r) for i, (_, r) in enumerate(group.head(10).iterrows())]
            rows[k + 1]["id"] = _bad_id(str(rows[k + 1]["id"]))
            expected.add((name, 3 + k + 1, str(100 * k + k + 2), "check"))  # title, header, then rows from 3
            if k == 2:
                rows.append(_committee_row(399, first))
                expected.add((name, 3 + 10, "399", "same head"))
            _sheet(wb.create_sheet(name), headers, rows, top=[[f"{name}农户信用评级登记表"]], bottom=[["合计"]])

    path = _book(tmp_path / "township.xlsx", build)
    result = _grade(service, path, as_of=AS_OF)
    _account(result, households=31, skipped=3)
    errors = result.errors
    got = {(e.sheet, int(e.row), str(e.serial)) for e in errors.itertuples()}
    assert got == {(s, r, n) for s, r, n, _ in expected}
    for sheet, row, _serial, words in expected:
        reason = errors.loc[(errors["sheet"] == sheet) & (errors["row"] == row), "reason"].iloc[0]
        assert words in reason, reason
    assert result.scored_rows == 27


def test_a_two_level_header_with_merged_cells_and_amounts_in_wan(service: GradingService,  # noqa: F811
                                                                 village: pd.DataFrame, tmp_path: Path) -> None:
    """家庭收支情况 merged over 年收入(万元) | 资产(万元) | 负债(万元), the other headers merged down across both rows:
    every household graded, amounts read in 万元 (the same grades as the same rows in yuan)."""
    v = village.iloc[0]
    rows = [_committee_row(i + 1, r) for i, r in village.iterrows()]
    rows[5]["id"] = _bad_id(rows[5]["id"])

    def build(wb: Workbook) -> None:
        ws = wb.active
        ws.append([f"{v['township_name']}{v['village_name']}农户信用评级登记表"])
        ws.merge_cells("A1:I1")
        ws.append(["序号", "户主姓名", "身份证号码", "家庭人口", "劳动力", "家庭收支情况", None, None, "村委评价"])
        ws.append([None, None, None, None, None, "年收入(万元)", "资产(万元)", "负债(万元)", None])
        for col in "ABCDEI":
            ws.merge_cells(f"{col}2:{col}3")
        ws.merge_cells("F2:H2")
        for r in rows:
            ws.append([r["serial"], r["name"], r["id"], r["members"], r["labourers"], r["income"] / 10_000,
                       r["assets"] / 10_000, r["liabilities"] / 10_000, r["evaluation"]])
        ws.append(["合计"])

    result = _grade(service, _book(tmp_path / "two-level.xlsx", build), as_of=AS_OF)
    _account(result, households=30, skipped=1)
    assert result.scored_rows == 29
    assert set(result.errors["serial"]) == {"6"}
    assert set(result.households["village_code"]) == {v["village_code"]}
    assert any("年收入(万元) → 家庭年收入" in c for c in result.columns_read)
    in_yuan = _grade(service, _book(tmp_path / "yuan.xlsx", lambda wb: _sheet(
        wb.active, {"serial": "序号", "name": "户主姓名", "id": "身份证号码", "members": "家庭人口",
                    "labourers": "劳动力", "income": "年收入", "assets": "资产", "liabilities": "负债",
                    "evaluation": "村委评价", "village_code": "村代码"}, rows)), as_of=AS_OF)
    pd.testing.assert_series_equal(result.households.set_index("row")["pd"],
                                   in_yuan.households.set_index("row")["pd"].rename(lambda r: r + 2),
                                   check_exact=False, atol=1e-6)


def test_line_breaks_in_header_cells_and_a_repeated_header(service: GradingService, village: pd.DataFrame,  # noqa: F811
                                                           tmp_path: Path) -> None:
    """Headers typed across two lines in their cells, income in 万元, the header printed again on page 2."""
    rows = [_committee_row(i + 1, r, income_unit=10_000) for i, r in village.iterrows()]
    headers = {"serial": "序\n号", "name": "户主\n姓名", "id": "身份证\n号码", "village_code": "村代码",
               "members": "家庭\n人口", "labourers": "劳动\n力", "income": "家庭年收入\n（万元）",
               "assets": "家庭资产\n（元）", "liabilities": "家庭负债\n（元）"}
    path = _book(tmp_path / "breaks.xlsx", lambda wb: _sheet(wb.active, headers, rows, repeat_header_at=15,
                                                             top=[["农户信用评级登记表（第一页）"]]))
    result = _grade(service, path, as_of=AS_OF)
    _account(result, households=30, skipped=1)
    assert result.rejected_rows == 0
    graded = result.households.set_index("head_name")
    first = village.iloc[0]
    assert graded.loc[first["head_name"], "village_name"] == first["village_name"]  # the name from the store
    assert any("万元" in note for note in result.notes)


def test_codes_but_no_names_and_english_headers(service: GradingService, village: pd.DataFrame,  # noqa: F811
                                                tmp_path: Path) -> None:
    rows = [_committee_row(i + 1, r) for i, r in village.iterrows()]
    rows[5]["labourers"] = rows[5]["members"] + 2  # more labourers than people
    headers = {"serial": "No.", "name": "Name", "id": "ID Number", "village_code": "Village code",
               "members": "Household size", "labourers": "Labourers", "income": "Annual income (yuan)",
               "assets": "Assets (yuan)", "liabilities": "Liabilities (yuan)"}
    path = _book(tmp_path / "english.xlsx", lambda wb: _sheet(wb.active, headers, rows, bottom=[["Total"]]))
    result = _grade(service, path, as_of=AS_OF)
    _account(result, households=30, skipped=1)
    assert list(result.errors["serial"]) == ["6"]
    assert set(result.households["village_name"]) == {village["village_name"].iloc[0]}


def test_a_village_the_store_does_not_know_is_graded_and_assessed_under_its_name(
        service: GradingService, village: pd.DataFrame, tmp_path: Path) -> None:  # noqa: F811
    rows = [_committee_row(i + 1, r) for i, r in village.head(10).iterrows()]
    for r in rows:
        r["village"] = "新建村"
    headers = {"serial": "序号", "name": "户主姓名", "id": "身份证号", "village": "行政村", "members": "家庭人口",
               "labourers": "劳动力", "income": "年收入（元）", "assets": "资产", "liabilities": "负债"}
    path = _book(tmp_path / "unknown.xlsx", lambda wb: _sheet(wb.active, headers, rows))
    result = _grade(service, path, as_of=AS_OF)
    _account(result, households=10, skipped=0)
    assert result.scored_rows == 10
    assert result.households["village_code"].isna().all()
    assert list(result.villages["village_name"]) == ["新建村"]
    assert any("新建村" in n and "code unknown" in n for n in result.notes)
    write_result(result, tmp_path / "out.xlsx", source="unknown.xlsx")  # a village without a code is written


def test_the_assessor_gives_the_village_code(service: GradingService, village: pd.DataFrame,  # noqa: F811
                                             tmp_path: Path) -> None:
    rows = [_committee_row(i + 1, r) for i, r in village.head(8).iterrows()]
    headers = {"serial": "序号", "name": "姓名", "id": "身份证号", "members": "家庭人口", "labourers": "劳动力",
               "income": "年收入", "assets": "资产", "liabilities": "负债"}
    path = _book(tmp_path / "plain.xlsx", lambda wb: _sheet(wb.active, headers, rows))
    code = village["village_code"].iloc[0]
    result = _grade(service, path, as_of=AS_OF, options=RosterOptions(village_code=code))
    assert set(result.households["village_code"]) == {code}
    with pytest.raises(Exception, match="12 digits"):
        RosterOptions(village_code="4108")


def test_a_column_mapping_reads_a_layout_no_rule_knows_and_is_printed_back(
        service: GradingService, village: pd.DataFrame, tmp_path: Path) -> None:  # noqa: F811
    rows = [_committee_row(i + 1, r) for i, r in village.head(6).iterrows()]
    headers = {"serial": "栏1", "name": "栏2", "id": "栏3", "village_code": "栏4", "members": "栏5", "labourers": "栏6",
               "income": "栏7", "assets": "栏8", "liabilities": "栏9"}
    path = _book(tmp_path / "odd.xlsx", lambda wb: _sheet(wb.active, headers, rows))
    with pytest.raises(InvalidRecord, match="required column"):
        _grade(service, path, as_of=AS_OF)
    fields = ["serial", "head_name", "head_id", "village_code", "members", "labourers", "annual_income", "assets",
              "liabilities"]
    text = "columns:\n" + "".join(f"  栏{i + 1}: {f}\n" for i, f in enumerate(fields))
    mapping = parse_mapping(text)
    result = _grade(service, path, as_of=AS_OF, options=RosterOptions(columns=mapping), header_row=1)
    assert result.scored_rows == 6
    printed = result.mappings[""]
    assert parse_mapping(printed) == mapping  # the summary's mapping reads back as the same mapping


def test_headers_matched_with_reasons_ambiguous_ones_refused_unknown_ones_listed() -> None:
    kind = KINDS["households"]
    optional = ("surveyed_on", "county_code", "county_name", "township_code", "township_name", "village_code",
                "village_name")
    m = match_headers(kind, ["序号", "户主", "身份证号", "家庭人口（人）", "劳力", "2024年家庭年收入合计（万元）",
                             "资产/元", "负债(元)", "村两委评价", "帮扶责任人"], optional=optional)
    assert m.fields["2024年家庭年收入合计（万元）"] == "annual_income"
    assert m.units["2024年家庭年收入合计（万元）"] == "万元"
    assert m.units["资产/元"] == "元"
    assert m.unread == ["帮扶责任人"]
    assert "负债(元) → 家庭负债 (liabilities), in 元" in m.reasons.values()
    with pytest.raises(InvalidRecord, match=r"could be 家庭资产 .* or 家庭负债"):
        match_headers(kind, ["身份证号", "户主", "家庭人口", "劳动力", "年收入", "资产负债"], optional=optional)
    with pytest.raises(InvalidRecord, match="all read as 家庭负债"):
        match_headers(kind, ["身份证号", "户主", "家庭人口", "劳动力", "年收入", "资产", "负债", "负债总额"],
                      optional=optional)


@pytest.mark.parametrize(("words", "expected"), [
    (["优", "良", "中", "差"], ["excellent", "good", "fair", "poor"]),
    (["优秀", "良好", "一般", "较差"], ["excellent", "good", "fair", "poor"]),
    (["好", "较好", "一般", "差"], ["excellent", "good", "fair", "poor"]),
    (["A", "b", " C ", "Ｄ"], ["excellent", "good", "fair", "poor"]),
])
def test_the_committees_evaluation_words(surveys: pd.DataFrame, words: list[str],  # noqa: F811
                                         expected: list[str]) -> None:
    from creditscore.records.parsing import parse_records

    kind = KINDS["households"]
    rows = surveys.head(4)
    raw = pd.DataFrame({f.name: rows[f.name].astype("string").to_numpy() for f in kind.fields}, dtype="string")
    raw["village_evaluation"] = words
    parsed = parse_records(kind, raw, today=AS_OF)
    assert parsed.errors.empty, parsed.errors
    assert list(parsed.clean["village_evaluation"]) == expected
    raw["village_evaluation"] = ["优", "很差劲", "中", "差"]
    errors = parse_records(kind, raw, today=AS_OF).errors
    assert list(errors["row"]) == [2]
    assert "优/优秀" in errors["reason"].iloc[0]


def test_places_from_titles_and_ambiguous_names() -> None:
    ctx = context_from_text("某某县石门镇王庄村信用村评定农户登记表")
    assert (ctx.county, ctx.township, ctx.village) == ("某某县", "石门镇", "王庄村")
    ctx = context_from_text("填报单位：石门乡李家沟村村委会  填报日期：2025年3月")
    assert (ctx.township, ctx.village) == ("石门乡", "李家沟村")
    places = Places(pd.DataFrame({
        "county_code": ["410101", "410101"], "county_name": ["某某县", "某某县"],
        "township_code": ["410101101", "410101102"], "township_name": ["石门乡", "石门镇"],
        "village_code": ["410101101201", "410101102201"], "village_name": ["王庄村", "王庄"]}, dtype="string"))
    found, why = places.resolve("王庄村")
    assert found is None
    assert "give the township" in why
    found, _ = places.resolve("王庄", township="石门镇")
    assert found is not None
    assert found["village_code"] == "410101102201"
