"""Sample rosters for newcomers: a township's workbook as village committees fill one in.

One sheet per village, named after it; a title line naming the township and village and a filler line above
the committee's own headers (户主, 身份证号码, 家庭年收入(元), 负债(元), 村委评价 in 优/良/中/差, 联系电话, 备注);
blank rows; a few rows a committee gets wrong (a mistyped ID, a missing household size, more labourers than
people); a totals line and signatures at the bottom; and a sheet of instructions. No village codes: they are
found by name, as for a real committee's file. Built from the store's households, so the workbook grades
against the store it came from (``creditscore households sample``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from creditscore.records.ids import resident_id_check_char

__all__ = ["write_township_workbook"]

_EVALUATION = {"excellent": "优", "good": "良", "fair": "中", "poor": "差"}
_HEADERS = ["序号", "户主", "身份证号码", "家庭人口", "劳动力", "家庭年收入(元)", "资产(元)", "负债(元)", "村委评价",
            "联系电话", "备注"]


def _mistyped(head_id: str) -> str:
    """The ID with one character wrong: the check character of an 18-character ID, the month of a 15-digit one."""
    if len(head_id) != 18:
        return head_id[:8] + "13" + head_id[10:]
    right = resident_id_check_char(head_id[:17])
    return head_id[:17] + ("7" if right != "7" else "3")


def write_township_workbook(households: pd.DataFrame, path: str | Path, *, villages: int = 4,
                            per_village: int = 40) -> dict[str, int]:
    """Write the workbook; returns what it holds: households, rows a committee got wrong, non-household lines."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    latest = households.sort_values("surveyed_on").drop_duplicates("head_id", keep="last")
    township = latest["township_name"].value_counts().index[0]
    latest = latest[latest["township_name"] == township]
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    for line in ("填表说明", "1. 每个村一张表，按户填写，一户一行。", "2. 金额单位为元。",
                 "3. 村委评价填 优、良、中、差。", "4. 表尾合计行与签字行不需删除。"):
        notes.append([line])
    counts = {"households": 0, "wrong": 0, "not_households": 0, "villages": 0}
    for village, group in list(latest.groupby("village_name", sort=True))[:villages]:
        ws = wb.create_sheet(str(village)[:31])
        ws.append([f"{township}{village}{pd.Timestamp(group['surveyed_on'].max()).year}年农户信用评级登记表"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(_HEADERS))
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append(["填报单位：村民委员会（盖章）", None, None, None, None, None, None, "填报日期："])
        ws.append(_HEADERS)
        members = 0
        for i, (_, r) in enumerate(group.head(per_village).iterrows(), start=1):
            evaluation = r["village_evaluation"]
            row = [i, r["head_name"], r["head_id"], int(r["members"]), int(r["labourers"]),
                   round(float(r["annual_income"]) / 100), round(float(r["assets"]) / 100),
                   round(float(r["liabilities"]) / 100),
                   _EVALUATION.get(str(evaluation), "") if isinstance(evaluation, str) else "", None, None]
            if i == 5:
                row[2], row[10] = _mistyped(str(r["head_id"])), "身份证号待核"
            elif i == 9:
                row[3] = None
            elif i == 13:
                row[4] = row[3] + 2
            counts["wrong"] += i in (5, 9, 13)
            members += row[3] or 0
            ws.append(row)
            if i % 15 == 0:
                ws.append([])
            counts["households"] += 1
        ws.append([None, "合计", None, members])
        ws.append(["填表人：", None, None, "审核人：", None, None, "联系电话："])
        counts["not_households"] += 2
        counts["villages"] += 1
        ws.column_dimensions["C"].width = 22
    wb.save(path)
    return counts
