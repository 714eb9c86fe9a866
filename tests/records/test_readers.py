"""Reading CSV (UTF-8 and GB18030), XLSX and Parquet as text with the row numbers a person sees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from creditscore.errors import UnreadableFile
from creditscore.records.readers import Limits, check_file, count_rows, read_chunks, sheet_names


def _all(path: Path, **kw) -> tuple[pd.DataFrame, list[int]]:
    chunks = list(read_chunks(path, **kw))
    return pd.concat([c.frame for c in chunks], ignore_index=True), [int(r) for c in chunks for r in c.row_numbers]


def test_gb18030_csv_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("统一社会信用代码,处罚机关\n91350100M000100Y43,福州市市场监督管理局\n".encode("gb18030"))
    frame, rows = _all(path)
    assert frame.loc[0, "处罚机关"] == "福州市市场监督管理局"
    assert rows == [2]


def test_csv_row_numbers_survive_blank_lines_and_chunks(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n,\n3,4\n5,6\n", encoding="utf-8")
    frame, rows = _all(path, chunk_rows=2)
    assert list(frame["a"]) == ["1", "3", "5"]
    assert rows == [2, 4, 5]
    assert count_rows(path) == 4


def test_xlsx_header_found_below_a_title_and_cells_become_text(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["2024年行政处罚信息"])
    ws.append([])
    ws.append(["统一社会信用代码", "处罚决定日期", "罚款金额", "身份证号"])
    ws.append(["91350100M000100Y43", dt.datetime(2024, 3, 5), 5000.0, 1.1010519491231e17])
    path = tmp_path / "p.xlsx"
    wb.save(path)
    frame, rows = _all(path, header_row=3)
    assert list(frame.columns) == ["统一社会信用代码", "处罚决定日期", "罚款金额", "身份证号"]
    assert frame.iloc[0].tolist() == ["91350100M000100Y43", "2024-03-05", "5000", "1.1010519491231E+17"]
    assert rows == [4]


def test_parquet_typed_columns_become_text(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    frame = pd.DataFrame({"uscc": ["91350100M000100Y43"], "year": [2023], "when": [pd.Timestamp("2024-04-01")]})
    frame.to_parquet(path)
    frame, rows = _all(path)
    assert frame.iloc[0].tolist() == ["91350100M000100Y43", "2023", "2024-04-01"]
    assert rows == [1]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.pdf", b"%PDF", "unsupported file type"),
    ("a.xlsx", b"not a zip", "not a valid Excel workbook|cannot be read"),
    ("a.csv", b"", "empty"),
    ("a.parquet", b"garbage", "cannot be read as a Parquet file"),
])
def test_unreadable_files_get_one_clear_message(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        list(read_chunks(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no such file"):
        list(read_chunks(tmp_path / "nope.csv"))


def test_sheet_rows_keep_their_numbers_under_blank_leading_rows_and_columns(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws["B3"], ws["C3"], ws["B4"], ws["C4"], ws["B6"] = "a", "b", 1, 2, 5
    wb.save(tmp_path / "offset.xlsx")
    for header_row in (None, 3):
        (chunk,) = read_chunks(tmp_path / "offset.xlsx", header_row=header_row)
        assert chunk.frame.to_dict("list") == {"a": ["1", "5"], "b": ["2", ""]}
        assert chunk.row_numbers.tolist() == [4, 6]


def test_the_header_row_is_found_under_a_title_by_its_known_columns(tmp_path: Path) -> None:
    from creditscore.records.contracts import KINDS
    from creditscore.records.vocabulary import header_score

    def score(cells: list[str]) -> int:
        return header_score(KINDS["households"], cells)

    text = "XX村农户信息采集表,,\n填表人：张三,,\n户主姓名,身份证号,家庭人口（人）\n李四,410882197503090018,4\n"
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    (chunk,) = read_chunks(tmp_path / "t.csv", header_score=score)
    assert list(chunk.frame.columns) == ["户主姓名", "身份证号", "家庭人口（人）"]
    assert chunk.row_numbers.tolist() == [4]
    (plain,) = read_chunks(tmp_path / "t.csv")  # without a score: the first non-blank line
    assert next(iter(plain.frame.columns)) == "XX村农户信息采集表"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_two_level_header_is_read_as_one(tmp_path: Path, fmt: str) -> None:
    """A group title merged over sub-headers (家庭收支情况 over 年收入 | 资产 | 负债), the other names merged down
    across both rows: neither row names every column; read together they do, and data start below both."""
    from creditscore.records.contracts import KINDS
    from creditscore.records.vocabulary import header_score

    upper = ["序号", "户主姓名", "身份证号", "家庭收支情况", "", "", "备注"]
    lower = ["", "", "", "年收入(万元)", "资产(万元)", "负债(万元)", ""]
    data = [["1", "李四", "410882197503090018", "3.5", "20", "1.5", ""], ["合计", "", "", "3.5", "", "", ""]]
    path = tmp_path / f"two.{fmt}"
    if fmt == "xlsx":
        wb = Workbook()
        ws = wb.active
        ws.append(["李家沟村农户信用评级登记表"])
        for row in (upper, lower, *data):
            ws.append([v or None for v in row])
        for col in "ABCG":
            ws.merge_cells(f"{col}2:{col}3")
        ws.merge_cells("D2:F2")
        wb.save(path)
    else:
        path.write_text("\n".join(",".join(r) for r in (["李家沟村农户信用评级登记表"], upper, lower, *data)) + "\n",
                        encoding="utf-8")
    (chunk,) = read_chunks(path, header_score=lambda cells: header_score(KINDS["households"], cells))
    assert list(chunk.frame.columns) == ["序号", "户主姓名", "身份证号", *lower[3:6], "备注"]
    assert chunk.row_numbers.tolist() == [4, 5]
    assert chunk.frame["户主姓名"].tolist() == ["李四", ""]
    assert chunk.preamble == ("李家沟村农户信用评级登记表",)


def test_a_value_merged_down_across_rows_is_read_on_every_row(tmp_path: Path) -> None:
    """A township roster merges each village's name down across its households (and here a column left blank
    before the table): every household reads its village, as a person sees it; a blank cell stays blank."""
    wb = Workbook()
    ws = wb.active
    ws.append([None, "村", "户主姓名", "年收入"])
    ws.append([None, "李家沟村", "甲", "1"])
    ws.append([None, None, "乙", "2"])
    ws.append([None, None, "丙", "3"])
    ws.append([None, "王庄村", "丁", "4"])
    ws.append([None, None, "戊", None])
    ws.merge_cells("B2:B4")
    ws.merge_cells("B5:B6")
    ws.merge_cells("D5:D6")  # an amount merged over two rows: a person reads it on both
    wb.save(tmp_path / "merged.xlsx")
    frame, rows = _all(tmp_path / "merged.xlsx")
    assert frame["村"].tolist() == ["李家沟村"] * 3 + ["王庄村"] * 2
    assert frame["户主姓名"].tolist() == ["甲", "乙", "丙", "丁", "戊"]
    assert frame["年收入"].tolist() == ["1", "2", "3", "4", "4"]
    assert rows == [2, 3, 4, 5, 6]


# --- hostile and huge files: refused before a reader opens them, in bounded memory and time ------------------


def _bomb(path: Path, inflated_mb: int) -> Path:
    """A workbook whose one sheet inflates to ``inflated_mb`` MB of whitespace from a few hundred KB."""
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["户主姓名", "身份证号"])
    wb.save(path)
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            if name == "xl/worksheets/sheet1.xml":
                with out.open(name, "w") as fh:
                    fh.write(data[:-len(b"</worksheet>")])
                    block = b" " * (1 << 20)
                    for _ in range(inflated_mb):
                        fh.write(block)
                    fh.write(b"</worksheet>")
            else:
                out.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    import resource
    import time

    path = _bomb(tmp_path / "bomb.xlsx", 120)
    assert path.stat().st_size < 2 * 1024 * 1024
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for attempt in (lambda: list(read_chunks(path)), lambda: sheet_names(path), lambda: check_file(path)):
        with pytest.raises(UnreadableFile, match="zip bomb") as refused:
            attempt()
        assert "压缩炸弹" in str(refused.value)
    assert time.perf_counter() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: nothing inflated


def test_a_sheet_declaring_millions_of_rows_is_refused(tmp_path: Path) -> None:
    import zipfile

    from openpyxl import Workbook

    path = tmp_path / "tall.xlsx"
    wb = Workbook()
    wb.active.append(["户主姓名", "身份证号"])
    wb.active.append(["张三", "1"])
    wb.save(path)
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    start = sheet.index(b"<dimension")
    end = sheet.index(b"/>", start) + 2
    parts["xl/worksheets/sheet1.xml"] = sheet[:start] + b'<dimension ref="A1:AZ3000000"/>' + sheet[end:]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    with pytest.raises(UnreadableFile, match="3,000,000 rows × 52 columns"):
        list(read_chunks(path))
    with pytest.raises(UnreadableFile, match="split the file"):
        check_file(path, Limits(max_rows=1_000_000, max_cells=10**12))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_a_file_past_the_row_limit_is_refused_before_it_is_read(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"户主姓名": ["张三"] * 2_000, "身份证号": ["x"] * 2_000})
    path = tmp_path / f"rows{suffix}"
    {".csv": lambda: frame.to_csv(path, index=False), ".parquet": lambda: frame.to_parquet(path),
     ".xlsx": lambda: frame.to_excel(path, index=False)}[suffix]()
    check_file(path, Limits(max_rows=5_000))
    with pytest.raises(UnreadableFile, match=r"2,00\d rows, over the 500-row limit: split the file") as refused:
        check_file(path, Limits(max_rows=500))
    assert "请分成几个文件" in str(refused.value)


def test_a_damaged_workbook_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a zip at all")
    with pytest.raises(UnreadableFile, match="not a valid Excel workbook"):
        check_file(path)
