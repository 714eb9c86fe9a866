"""Validation reasons in Chinese, for the people who fix the spreadsheet: village assessors.

The library states every problem once, in English, where it is found (``ids``,
``parsing``, ``schema``): that is what developers, logs and bank systems read.
An assessor needs the same fact in Chinese, in words about their table —
"身份证号校验位错误：应为X". Each English reason template has one rule here; a test
runs every template through :func:`reason_zh` so that a new English reason without
its Chinese twin fails the build instead of reaching an assessor in English.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

__all__ = ["reason_zh"]

_ID = "身份证号"
_TEXT_COLUMN = "请将该列设置为“文本”格式后重新录入"

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _r(pattern: str, render: Callable[[re.Match[str]], str] | str) -> Rule:
    fn = render if callable(render) else (lambda _m, text=render: text)
    return re.compile(pattern), fn


@functools.cache
def _field_zh() -> dict[str, str]:
    from creditscore.records.contracts import KINDS

    return {f.name: f.zh for k in KINDS.values() for f in k.fields}


def _dates_out_of_order(m: re.Match[str]) -> str:
    names = _field_zh()
    return f"{names.get(m.group(1), m.group(1))}早于{names.get(m.group(2), m.group(2))}，日期先后不合理"


def _subject(m: re.Match[str]) -> str:
    return _ID if m.group(1).startswith("resident") else "统一社会信用代码"


_RULES: list[Rule] = [
    # --- identifiers (creditscore.records.ids, creditscore.records.parsing) ------------------------------------
    _r(r"^(resident ID|USCC) was turned into a number in scientific notation",
       lambda m: f"{_subject(m)}被Excel转成了科学计数法（如1.1E+17），后几位数字已丢失；{_TEXT_COLUMN}"),
    _r(r"^(resident ID|USCC) was stored as a decimal number",
       lambda m: f"{_subject(m)}被存成了小数，末几位可能已丢失；{_TEXT_COLUMN}"),
    _r(r"^resident ID \S+ has (\d+) digits and was stored as a number",
       lambda m: f"身份证号只有{m.group(1)}位且被存成了数字，开头的0可能已丢失；{_TEXT_COLUMN}"),
    _r(r"^resident ID ends in 000 and fails its check",
       f"身份证号末三位为000且校验不通过：Excel只保留了15位有效数字；{_TEXT_COLUMN}"),
    _r(r"^code .* was stored as a floating-point number", f"代码被存成了小数，末几位可能已丢失；{_TEXT_COLUMN}"),
    _r(r"^resident ID \S*: check character \(position 18\) should be '(.)', got '(.)'",
       lambda m: f"身份证号校验位错误：应为{m.group(1)}，实为{m.group(2)}"),
    _r(r"^resident ID \S*: must have 18 \(or 15 for old numbers\) characters, got (\d+)",
       lambda m: f"身份证号位数错误：应为18位（旧号码15位），实为{m.group(1)}位"),
    _r(r"^resident ID \S*: must have 18 characters, got (\d+)",
       lambda m: f"身份证号位数错误：应为18位，实为{m.group(1)}位"),
    _r(r"^resident ID \S*: position 18 must be a digit or X", "身份证号第18位（校验位）应为数字或X"),
    _r(r"^resident ID \S*: position (\d+) must be a digit", lambda m: f"身份证号第{m.group(1)}位应为数字"),
    _r(r"^resident ID \S*: a 15-digit number must be all digits", "15位旧身份证号应全部为数字"),
    _r(r"^resident ID \S*: birth date (\S+) is not a real date",
       lambda m: f"身份证号中的出生日期{m.group(1)}不是有效日期"),
    _r(r"^resident ID \S*: birth date (\S+) is in the future",
       lambda m: f"身份证号中的出生日期{m.group(1)}晚于今天"),
    _r(r"^resident ID \S*: birth year (\d+) is implausible",
       lambda m: f"身份证号中的出生年份{m.group(1)}不合理"),
    _r(r"^expected a code, got", "代码为空或格式不对"),
    _r(r"^neither a valid resident ID nor a valid USCC", "既不是有效的身份证号，也不是有效的统一社会信用代码"),
    _r(r"^USCC \S*: must have 18 characters, got (\d+)",
       lambda m: f"统一社会信用代码位数错误：应为18位，实为{m.group(1)}位"),
    _r(r"^USCC \S*: .*check character \(position (\d+)\) should be '(.)', got '(.)'",
       lambda m: f"统一社会信用代码第{m.group(1)}位校验码错误：应为{m.group(2)}，实为{m.group(3)}"),
    _r(r"^USCC \S*: character '(.)' at position (\d+) is not allowed",
       lambda m: f"统一社会信用代码第{m.group(2)}位不能是“{m.group(1)}”（不使用I、O、S、V、Z）"),
    _r(r"^USCC \S*: .* at position 1 is not a registration authority", "统一社会信用代码第1位不是登记管理部门代码"),
    _r(r"^USCC \S*: .* at position 2 is not an organisation type", "统一社会信用代码第2位不是有效的机构类别"),
    _r(r"^USCC \S*: positions 3-8 must be", "统一社会信用代码第3–8位应为6位行政区划代码"),
    # --- values (creditscore.records.parsing) ---------------------------------------------------------------------
    _r(r"^required value is missing \((.+)\)$", lambda m: f"缺少必填项：{m.group(1)}"),
    _r(r"^not a whole number$", "应为整数"),
    _r(r"^not a number$", "应为数字"),
    _r(r"^must be at least (\S+)$", lambda m: f"不能小于{m.group(1)}"),
    _r(r"^must be at most (\S+)$", lambda m: f"不能大于{m.group(1)}"),
    _r(r"^year outside 1949–2100$", "年份应在1949–2100年之间"),
    _r(r"^not an amount", "不是有效金额（示例：12500、12,500.00、1.25万元）"),
    _r(r"^more than two decimal places", "金额最多保留两位小数（到分）"),
    _r(r"^amount is implausibly large$", "金额过大，请核对单位（元/万元）"),
    _r(r"^not a date", "不是有效日期（示例：2024-03-31、2024/3/31、20240331、2024年3月31日）"),
    _r(r"^date outside 1949–2100$", "日期应在1949–2100年之间"),
    _r(r"^not a month", "不是有效月份（示例：2024-03、202403、2024年3月）"),
    _r(r"^not an evaluation this file's vocabulary knows \((.+)\)$",
       lambda m: f"不是可识别的评价（可写：{m.group(1)}）"),
    _r(r"^not one of: (.+)$",
       lambda m: "应为以下之一：" + "、".join(re.findall(r"\(([^)]+)\)", m.group(1)))),
    _r(r"^longer than (\d+) characters$", lambda m: f"超过{m.group(1)}个字符"),
    _r(r"^not a GB/T 4754 industry section", "不是国民经济行业门类代码（A–T中的一个字母）"),
    _r(r"^not a (\d+)-digit administrative division code$", lambda m: f"应为{m.group(1)}位行政区划代码"),
    # --- row checks (creditscore.records.contracts) and the household batch ------------------------------------------
    _r(r"^labourers exceed household members$", "劳动力人数超过家庭人口"),
    _r(r"^township code does not start with the county code$", "乡镇代码与县区代码不一致（应以县区代码开头）"),
    _r(r"^village code does not start with the township code$", "村代码与乡镇代码不一致（应以乡镇代码开头）"),
    _r(r"^published before the event it reports", "公示日期早于事项发生日期"),
    _r(r"^(\w+) is before (\w+): ", _dates_out_of_order),
    _r(r"^the same head of household is on row (\d+) of sheet '(.+)':",
       lambda m: f"与“{m.group(2)}”表第{m.group(1)}行为同一户主（身份证号重复）"),
    _r(r"^the same head of household is on row (\d+)", lambda m: f"与第{m.group(1)}行为同一户主（身份证号重复）"),
    _r(r"^surveyed on (\S+), after the assessment date (\d{4}-\d{2}-\d{2})",
       lambda m: f"采集日期{m.group(1)}晚于评价基准日{m.group(2)}"),
]


def reason_zh(reason: str) -> str:
    """The Chinese wording of one English validation reason (unknown ones are kept, marked as such)."""
    for pattern, render in _RULES:
        m = pattern.search(reason)
        if m:
            return render(m)
    return f"数据有误：{reason}"
