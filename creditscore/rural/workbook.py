"""Writing a graded household batch: the assessor's workbook, or the same tables as CSV / Parquet.

The workbook is what an assessor opens: Chinese headers, one sheet each for the
households (农户评级), the villages (信用村评定), the townships (信用乡镇评定), the rows that
could not be graded (错误) and how the file was read (说明). CSV and Parquet keep the
field names, for systems. A million rows are written with xlsxwriter's constant-memory
mode: rows go to disk as they are written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.errors import InvalidValue
from creditscore.rural.batch import BatchResult

__all__ = ["CRITERIA_LABELS", "FORMATS", "HOUSEHOLD_LABELS", "PLACE_LABELS", "SHEETS", "criteria_notes",
           "write_assessment", "write_result"]

FORMATS = (".xlsx", ".csv", ".parquet")
_BLOCK = 50_000  # rows converted to Python objects at a time
SHEET_ROWS = 1_000_000  # rows per worksheet (Excel's limit is 1,048,576 with the header)
SHEETS = {"households": "农户评级", "villages": "信用村评定", "townships": "信用乡镇评定", "errors": "错误",
          "summary": "说明"}

HOUSEHOLD_LABELS = {
    "sheet": "工作表", "row": "行号", "head_name": "户主姓名", "head_id": "身份证号（脱敏）", "county_name": "县区",
    "township_name": "乡镇", "village_code": "村代码", "village_name": "村", "grade": "信用等级",
    "model_grade": "模型等级", "score": "信用得分", "pd": "违约概率", "eligible": "可授信",
    "credit_line_yuan": "建议授信额度（元）", "rate_adjustment_bp": "利率浮动（基点）",
    "max_term_months": "最长期限（月）", "overrides": "政策调整", "reasons_zh": "主要扣分原因",
    "strengths_zh": "主要加分因素",
}
CRITERIA_LABELS = _CRITERIA = {  # criterion → its Chinese label (the sheets' column names, the pages' too)
    "credit_household_share": "信用户占比", "on_time_repayment": "按时还款率", "npl_ratio": "不良贷款率",
    "credit_village_share": "信用村占比",
}
PLACE_LABELS = _PLACE_LABELS = {"township_code": "乡镇代码", "township_name": "乡镇", "village_code": "村代码",
                 "village_name": "村", "households": "农户数", "credit_households": "信用户数",
                 "borrowers": "借款户数", "late_borrowers": "逾期户数", "outstanding_yuan": "贷款余额（元）",
                 "npl_yuan": "不良贷款（元）", "villages": "行政村数", "credit_villages": "信用村数",
                 "listed": "名册户数", "graded_share": "评级覆盖率"}
ERROR_LABELS = {"sheet": "工作表", "row": "行号", "serial": "序号", "head_name": "户主姓名", "column": "列",
                "value": "原值", "reason_zh": "原因", "reason": "reason (English)"}


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def criteria_notes(table: pd.DataFrame) -> pd.Series:
    """Per village or township, in words: which criteria were missed and by how much (or that all were met)."""
    names = [c for c in _CRITERIA if f"{c}_met" in table]
    notes = []
    for i in range(len(table)):
        if "assessed" in table and not bool(table["assessed"].iloc[i]):
            graded, listed = int(table["households"].iloc[i]), int(table["listed"].iloc[i])
            notes.append(f"未评定：{listed}户中仅{graded}户完成评级，证据不足 — not assessed: {graded} of {listed} "
                         "households graded")
            continue
        parts = []
        for c in names:
            value, threshold = table[c].iloc[i], table[f"{c}_threshold"].iloc[i]
            if pd.isna(value):
                parts.append(f"{_CRITERIA[c]}：无数据，不适用 — no data, not applicable")
                continue
            if not table[f"{c}_met"].iloc[i]:
                side = "低于" if c != "npl_ratio" else "高于"
                gap = abs(value - threshold) * 100
                parts.append(f"{_CRITERIA[c]}{_percent(value)}，{side}标准{_percent(threshold)}（差{gap:.1f}个百分点）")
        missed = [p for p in parts if "不适用" not in p]
        notes.append("；".join(parts) if missed else "；".join(["适用标准均达到", *parts]))
    return pd.Series(notes, index=table.index, dtype="object")


def _place_sheet(table: pd.DataFrame, verdict: str, verdict_zh: str) -> pd.DataFrame:
    if not len(table):
        return pd.DataFrame()
    out = pd.DataFrame(index=table.index)
    for column, label in _PLACE_LABELS.items():
        if column in table:
            out[label] = table[column]
    for c, label in _CRITERIA.items():
        if c in table:
            out[label] = table[c].round(4)
            out[f"{label}标准"] = table[f"{c}_threshold"]
            met = table[f"{c}_met"]
            out[f"{label}达标"] = np.where(met.isna(), "不适用", np.where(met.fillna(False).astype(bool), "是", "否"))
    out[verdict_zh] = np.where(table[verdict], "是", "否")
    out["评定说明"] = criteria_notes(table)
    return out


def _one_sheet(frame: pd.DataFrame) -> bool:
    """A CSV, Parquet or one-sheet workbook: no worksheet column to show."""
    return "sheet" not in frame or not (frame["sheet"].astype(str) != "").any()


def _households_sheet(households: pd.DataFrame) -> pd.DataFrame:
    wanted = [c for c in HOUSEHOLD_LABELS if c in households and not (c == "sheet" and _one_sheet(households))]
    out = households[wanted].rename(columns=HOUSEHOLD_LABELS)
    if "可授信" in out:
        out["可授信"] = np.where(households["eligible"].astype(bool), "是", "否")
    return out


def _summary(result: BatchResult, source: str) -> pd.DataFrame:
    grades = result.households["grade"].value_counts() if len(result.households) else pd.Series(dtype=int)
    rows = [("文件 file", source), ("评价基准日 as-of date", result.as_of.isoformat()),
            ("读入行数 rows read", result.rows), ("已评级 graded", result.scored_rows),
            ("未评级（见“错误”表） not graded (see errors)", result.rejected_rows),
            ("非农户行（合计、备注、签字等，未计入） not households", result.skipped_lines),
            ("模型版本 model", result.model_version), ("政策版本 policy", result.policy_version)]
    rows += [(f"{g} 户数", int(n)) for g, n in grades.items()]
    if len(result.villages):
        rows.append(("信用村 credit villages", f"{int(result.villages['credit_village'].sum())} / "
                                              f"{len(result.villages)}"))
    rows += [("列识别 column read", c) for c in result.columns_read]
    rows += [("读取说明 note", n) for n in result.notes]
    rows += [("列对应（可存为 --columns 文件） column mapping", m) for m in dict.fromkeys(result.mappings.values())]
    return pd.DataFrame(rows, columns=["项目 item", "内容 value"])


def _tables(result: BatchResult, source: str) -> dict[str, pd.DataFrame]:
    return {
        "households": _households_sheet(result.households),
        "villages": _place_sheet(result.villages, "credit_village", "是否信用村"),
        "townships": _place_sheet(result.townships, "credit_township", "是否信用乡镇"),
        "errors": result.errors[[c for c in ERROR_LABELS if c in result.errors
                                 and not (c == "sheet" and _one_sheet(result.errors))
                                 and not (c in ("serial", "head_name") and result.errors[c].isna().all())]]
        .rename(columns=ERROR_LABELS),
        "summary": _summary(result, source),
    }


def _write_sheet(workbook, name: str, frame: pd.DataFrame, header_format) -> None:
    ws = workbook.add_worksheet(name)
    ws.write_row(0, 0, list(frame.columns), header_format)
    ws.freeze_panes(1, 0)
    for i, column in enumerate(frame.columns):
        width = max(len(str(column)) * 2, 10) if frame.empty else min(
            max(len(str(column)) * 2, int(frame[column].head(200).map(str).str.len().fillna(0).max() * 1.6) + 2), 60)
        ws.set_column(i, i, width)
    # row by row (constant memory writes each row to disk as it completes); NA becomes an empty cell.
    # Converted to Python objects a block at a time: a million rows at once would double the memory.
    for start in range(0, len(frame), _BLOCK):
        block = frame.iloc[start:start + _BLOCK]
        columns = [block[c].astype(object).where(block[c].notna(), None).to_numpy() for c in block.columns]
        for r in range(len(block)):
            ws.write_row(start + r + 1, 0, [col[r] for col in columns])
    if len(frame):
        ws.autofilter(0, 0, len(frame), len(frame.columns) - 1)


def _write_workbook(path: Path, tables: list[tuple[str, pd.DataFrame]]) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_formulas": False, "strings_to_urls": False})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    try:
        for name, frame in tables:
            # a worksheet holds 1,048,576 rows: larger tables continue on numbered sheets, never cut
            for part, start in enumerate(range(0, max(len(frame), 1), SHEET_ROWS)):
                _write_sheet(workbook, name if part == 0 else f"{name} ({part + 1})",
                             frame.iloc[start:start + SHEET_ROWS], header)
    finally:
        workbook.close()


def write_assessment(villages: pd.DataFrame, townships: pd.DataFrame, out: str | Path) -> Path:
    """The village and township assessment alone (``creditscore villages --out``), as in a batch workbook."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_workbook(path, [(SHEETS["villages"], _place_sheet(villages, "credit_village", "是否信用村")),
                           (SHEETS["townships"], _place_sheet(townships, "credit_township", "是否信用乡镇"))])
    return path


def write_result(result: BatchResult, out: str | Path, *, source: str = "") -> list[Path]:
    """Write the batch to ``out`` by its suffix; returns the files written.

    ``.xlsx`` gives one workbook; ``.csv`` and ``.parquet`` give one file per table,
    named ``<stem>.households.csv`` and so on.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidValue(f"{path.name}: output must end in one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        tables = _tables(result, source)
        _write_workbook(path, [(SHEETS[k], tables[k]) for k in ("summary", "households", "villages", "townships",
                                                                 "errors")])
        return [path]
    written = []
    raw = {"households": result.households, "villages": result.villages, "townships": result.townships,
           "errors": result.errors}
    for key, frame in raw.items():
        target = path.with_name(f"{path.stem}.{key}{suffix}")
        if suffix == ".csv":
            frame.to_csv(target, index=False, encoding="utf-8-sig")  # BOM: Excel opens Chinese CSV correctly
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    return written
