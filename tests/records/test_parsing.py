"""Bulk validation of raw record tables against their contracts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from creditscore.errors import InvalidRecord, UnknownKind
from creditscore.records.contracts import KINDS, get_kind
from creditscore.records.parsing import parse_records
from creditscore.records.vocabulary import match_headers


def map_headers(kind, columns):  # the field mapping, as these tests read it
    return match_headers(kind, columns).fields

TODAY = dt.date(2026, 6, 30)


def _parse(kind: str, rows: dict[str, list[str]]):
    k = KINDS[kind]
    raw = pd.DataFrame(rows, dtype="string")
    mapping = map_headers(k, list(raw.columns))
    return parse_records(k, raw.rename(columns=mapping), row_numbers=list(range(2, len(raw) + 2)),
                         headers={v: c for c, v in mapping.items()}, today=TODAY)


def _penalties(uscc: str, **overrides: list[str]) -> dict[str, list[str]]:
    rows = {"统一社会信用代码": [uscc], "行政处罚决定书文号": ["郑市监罚〔2024〕1号"], "处罚决定日期": ["2024-03-05"],
            "处罚机关": ["郑州市市场监督管理局"], "处罚类别": ["一般"], "罚款金额": ["5000"]}
    rows.update(overrides)
    return rows


def test_chinese_headers_map_to_fields() -> None:
    mapping = map_headers(KINDS["penalties"], ["统一社会信用代码", "行政处罚决定书文号", "处罚决定日期", "处罚机关",
                                               "处罚类别", "不相关的列"])
    assert mapping["处罚决定日期"] == "decided_on"
    assert "不相关的列" not in mapping


def test_english_headers_are_case_and_space_insensitive() -> None:
    mapping = map_headers(KINDS["tax_grades"], ["USCC", "Year", " grade "])
    assert set(mapping.values()) == {"uscc", "year", "grade"}


def test_missing_required_column_names_both_headers() -> None:
    with pytest.raises(InvalidRecord, match=r"处罚决定日期 \(decided_on; also read: 处罚日期"):
        map_headers(KINDS["penalties"], ["统一社会信用代码", "行政处罚决定书文号", "处罚机关", "处罚类别"])


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(UnknownKind, match="expected one of: enterprises"):
        get_kind("fines")


def test_valid_penalty_is_typed(uscc: str) -> None:
    result = _parse("penalties", _penalties(uscc))
    assert result.errors.empty
    row = result.clean.iloc[0]
    assert row["decided_on"] == pd.Timestamp("2024-03-05")
    assert row["severity"] == "general"
    assert row["amount"] == 500_000  # fen
    assert row["published_on"] == pd.Timestamp("2024-03-15")  # default lag for penalties: 10 days
    assert row["record_key"] == f"{uscc}|郑市监罚〔2024〕1号"


@pytest.mark.parametrize(("text", "fen"), [
    ("12,500.50", 1_250_050), ("1.25万元", 12_500_00), ("３０００元", 300_000), ("¥8", 800), ("1.2万", 1_200_000),
])
def test_money_formats(uscc: str, text: str, fen: int) -> None:
    result = _parse("penalties", _penalties(uscc, 罚款金额=[text]))
    assert result.errors.empty, result.errors
    assert result.clean.iloc[0]["amount"] == fen


@pytest.mark.parametrize("text", ["2024年3月5日", "2024/3/5", "20240305", "2024-03-05 00:00:00", "２０２４-０３-０５"])
def test_date_formats(uscc: str, text: str) -> None:
    result = _parse("penalties", _penalties(uscc, 处罚决定日期=[text]))
    assert result.errors.empty, result.errors
    assert result.clean.iloc[0]["decided_on"] == pd.Timestamp("2024-03-05")


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("处罚决定日期", "2024-02-30", "not a date"),
    ("罚款金额", "-5", "at least 0"),
    ("罚款金额", "12.345", "two decimal places"),
    ("罚款金额", "abc", "not an amount"),
    ("处罚类别", "很严重", "not one of"),
    ("统一社会信用代码", "91350100M000100Y44", "should be '3'"),
    ("统一社会信用代码", "9.13501E+17", "scientific notation"),
    ("处罚机关", "", "required value is missing"),
])
def test_bad_value_is_rejected_with_row_column_and_reason(uscc: str, column: str, value: str, reason: str) -> None:
    rows = _penalties(uscc)
    for k in rows:
        rows[k] = rows[k] * 3
    rows["行政处罚决定书文号"] = ["a", "b", "c"]
    rows[column] = [rows[column][0], value, rows[column][0]]
    result = _parse("penalties", rows)
    assert len(result.clean) == 2
    assert len(result.errors) == 1
    err = result.errors.iloc[0]
    assert (err["row"], err["column"]) == (3, column)
    assert reason in err["reason"]


def test_every_problem_of_a_row_is_reported(uscc: str) -> None:
    result = _parse("penalties", _penalties(uscc, 处罚决定日期=["soon"], 罚款金额=["lots"]))
    assert set(result.errors["column"]) == {"处罚决定日期", "罚款金额"}
    assert result.clean.empty


def test_cross_field_rule(uscc: str) -> None:
    rows = {"uscc": [uscc], "started_on": ["2024-05-01"], "amount": ["80000"], "workers": ["12"],
            "resolved_on": ["2024-04-01"]}
    result = _parse("wage_arrears", rows)
    assert result.errors.iloc[0]["reason"].startswith("resolved_on is before started_on")


def test_publication_before_event_is_rejected(uscc: str) -> None:
    result = _parse("penalties", _penalties(uscc, 公示日期=["2024-03-01"]))
    assert "published before the event" in result.errors.iloc[0]["reason"]


def test_tax_grade_published_in_april_by_default(uscc: str) -> None:
    result = _parse("tax_grades", {"统一社会信用代码": [uscc], "评价年度": ["2023"], "纳税信用等级": ["A级"]})
    assert result.clean.iloc[0]["published_on"] == pd.Timestamp("2024-04-29")
    assert result.clean.iloc[0]["grade"] == "A"


def test_subject_type_is_inferred_from_the_identifier(uscc: str, resident_id: str) -> None:
    rows = {"证件号码": [uscc, resident_id.lower(), "123"], "案号": ["(2024)豫0102执1号"] * 3,
            "列入日期": ["2024-01-02"] * 3}
    result = _parse("court_listings", rows)
    assert list(result.clean["subject_type"]) == ["enterprise", "household"]
    assert "neither a valid resident ID nor a valid USCC" in result.errors.iloc[0]["reason"]


def test_errors_never_show_a_full_resident_id(resident_id: str) -> None:
    bad = resident_id[:17] + ("0" if resident_id[17] != "0" else "1")
    rows = {"证件号码": [bad], "主体类型": ["农户"], "案号": ["x"], "列入日期": ["2024-01-02"]}
    result = _parse("court_listings", rows)
    shown = " ".join(result.errors.astype(str).to_numpy().ravel())
    assert bad not in shown
    assert bad[:6] + "********" + bad[-4:] in shown


def test_household_checks(resident_id: str) -> None:
    rows = {"户主身份证号": [resident_id], "户主姓名": ["张三"], "县区代码": ["410882"], "县区": ["沁阳市"],
            "乡镇代码": ["410882100"], "乡镇": ["王曲乡"], "村代码": ["410883100201"], "村": ["东王曲村"],
            "家庭人口": ["4"], "劳动力": ["5"], "家庭年收入": ["6.5万元"], "家庭资产": ["30万"], "家庭负债": ["0"],
            "采集日期": ["2025-03-01"]}
    result = _parse("households", rows)
    reasons = set(result.errors["reason"])
    assert "labourers exceed household members" in reasons
    assert "village code does not start with the township code" in reasons


@pytest.mark.parametrize(("field", "text", "value"), [
    ("members", "4人", 4), ("members", "４口", 4), ("labourers", "2 人", 2), ("land_mu", "3.5亩", 3.5),
    ("land_mu", "1,200亩", 1200.0)])
def test_counts_and_areas_with_their_unit_typed_in(field: str, text: str, value: float) -> None:
    from creditscore.records.parsing import parse_field

    out, reason = parse_field(KINDS["households"].get_field(field), pd.Series([text], dtype="string"))
    assert reason.isna().all()
    assert out.iloc[0] == value


def test_header_units_are_read_and_ignored_for_matching() -> None:
    match = match_headers(KINDS["households"], ["户主姓名", "身份证号", "家庭人口（人）", "劳动力（人）",
                                                "年收入（万元）", "家庭资产(元)", "家庭负债（千元）", "县区代码",
                                                "县区", "乡镇代码", "乡镇", "村代码", "村", "采集日期",
                                                "承包地面积 (亩)"])
    assert match.units["年收入（万元）"] == "万元"
    assert match.units["承包地面积 (亩)"] == "亩"
    assert match.scaled == {"年收入（万元）": "万元", "家庭负债（千元）": "千元"}
    headers = ["户主姓名", "身份证号", "家庭人口（人）", "劳动力（人）", "年收入（万元）", "家庭资产(元)",
               "家庭负债（元）", "县区代码", "县区", "乡镇代码", "乡镇", "村代码", "村", "采集日期"]
    mapping = map_headers(KINDS["households"], headers)
    assert mapping["年收入（万元）"] == "annual_income"
    assert mapping["家庭人口（人）"] == "members"
