"""Every validation reason an assessor can meet has its Chinese wording."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from creditscore.errors import InvalidCode
from creditscore.records.contracts import KINDS
from creditscore.records.ids import resident_id_check_char, validate_resident_id, validate_uscc
from creditscore.records.messages_zh import reason_zh
from creditscore.records.parsing import parse_records

BAD_VALUES = ["", "bad!", "99999999999999999999", "1.5", "-5", "x" * 300, "2024-13-45", "1800-01-01",
              "4.10882E+17", "410882197503090018", "1.234", "12.345"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_reason_parse_records_gives_is_translated(kind: str) -> None:
    k = KINDS[kind]
    raw = pd.DataFrame({f.name: BAD_VALUES for f in k.fields}, dtype="string")
    errors = parse_records(k, raw, today=dt.date(2026, 6, 30)).errors
    assert len(errors)
    reasons = [*errors["reason"].unique(), *(c.reason for c in k.checks)]
    untranslated = [r for r in reasons if reason_zh(r).startswith("数据有误")]
    assert untranslated == []


@pytest.mark.parametrize("code", ["", "123", "91350100M000100Y4I", "Y1350100M000100Y43", "9A350100M000100Y43",
                                  "91AB0100M000100Y43", "91350100M000100Y44", "91350100M000100X43"])
def test_every_uscc_reason_is_translated(code: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        validate_uscc(code)
    assert not reason_zh(str(caught.value)).startswith("数据有误")


@pytest.mark.parametrize("number", ["41088219750309001", "41088219750A090018", "41088219750309001Y",
                                    "410882197513090018", "410882209903090018", "410882185003090018",
                                    "41088275030900A", 41088219750309001])
def test_every_resident_id_reason_is_translated(number: object) -> None:
    with pytest.raises(InvalidCode) as caught:
        validate_resident_id(number, today=dt.date(2026, 6, 30))
    assert not reason_zh(str(caught.value)).startswith("数据有误")


def test_the_check_character_reason_names_the_right_one() -> None:
    body = "41088219750309001"
    right = resident_id_check_char(body)
    wrong = "1" if right != "1" else "2"
    with pytest.raises(InvalidCode) as caught:
        validate_resident_id(body + wrong)
    assert reason_zh(str(caught.value)) == f"身份证号校验位错误：应为{right}，实为{wrong}"
    assert reason_zh("required value is missing (户主姓名)") == "缺少必填项：户主姓名"
    assert reason_zh("not one of: excellent (优秀) / good (良好)") == "应为以下之一：优秀、良好"
    assert reason_zh("closed_on is before opened_on: closed before the loan was made").startswith("结清日期早于")


def test_an_unknown_reason_is_kept_rather_than_lost() -> None:
    assert reason_zh("something new") == "数据有误：something new"
