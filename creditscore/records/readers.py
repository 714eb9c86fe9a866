"""Reading tabular files (CSV, XLSX, Parquet) as text, in chunks, with the row numbers a person sees.

Everything is read as text so that the contracts, not the file reader, decide
what a value means: Excel's habit of turning codes into numbers must be
*detected* (see :mod:`creditscore.records.parsing`), not silently accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.errors import UnreadableFile

__all__ = ["SUPPORTED", "Chunk", "Limits", "check_file", "count_rows", "read_chunks", "sheet_names"]

SUPPORTED = (".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods", ".parquet")
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")
HEADER_SCAN_ROWS = 30  # a title, notes and a blank line or two above the headers; never a whole sheet

HeaderScore = Callable[[list[str]], int]
"""How many of a row's cells are known column headers: lets a reader find the header row under a title."""


@dataclass(slots=True)
class Chunk:
    """Raw text rows, their column headers as written, and each row's number in the file."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    #: The text of the filled lines above the headers (a title, "填报单位：…"): on a sheet's first chunk only.
    preamble: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    """How large a file may be before a reader touches it — so a hostile or huge one is refused in bounded memory
    and time, with one sentence, instead of exhausting the process inside a native reader.

    An ``.xlsx`` is a zip: a few MB can declare gigabytes of XML. Its members' declared sizes and its sheets'
    recorded dimensions are checked first; a CSV's lines are counted as a stream; a Parquet file's row count is
    in its footer.
    """

    #: Data rows of a file (all sheets). No limit unless the caller sets one: a household batch's comes from the
    #: settings (``CREDITSCORE_BATCH_MAX_ROWS``); an ingest streams in chunks and needs none.
    max_rows: int = 2**62
    #: Cells of one worksheet as its dimension records them (rows × columns).
    max_cells: int = 40_000_000
    #: Bytes a spreadsheet may inflate to, all members together.
    max_inflated_bytes: int = 1_500 * 1024 * 1024
    #: Inflation ratio above which a large member is a zip bomb, not a spreadsheet (XML packs 5–20×).
    max_ratio: int = 200


DEFAULT_LIMITS = Limits()
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension[^>]*\bref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + ord(ch) - 64
    return n


def _refuse(path: Path, zh: str, en: str) -> UnreadableFile:
    return UnreadableFile(f"{path.name}: {zh} — {en}")


def check_file(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a file past ``limits`` before any reader opens it (raises :class:`UnreadableFile`, in Chinese and
    English). Reads the zip directory and a few KB of each worksheet at most."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        return  # the reader says "no such file"
    if suffix in (".xlsx", ".xlsm", ".ods"):
        try:
            with zipfile.ZipFile(p) as zf:
                members = zf.infolist()
                inflated = sum(m.file_size for m in members)
                if inflated > limits.max_inflated_bytes:
                    mb, cap = inflated / 2**20, limits.max_inflated_bytes / 2**20
                    raise _refuse(p, f"解压后达{mb:,.0f} MB，超过{cap:,.0f} MB上限",
                                  f"it inflates to {mb:,.0f} MB, over the {cap:,.0f} MB limit")
                for m in members:
                    if m.file_size > 50 * 2**20 and m.file_size > limits.max_ratio * max(m.compress_size, 1):
                        raise _refuse(p, "文件异常（压缩比过高，疑似压缩炸弹），已拒收",
                                      f"member {m.filename} inflates {m.file_size / max(m.compress_size, 1):,.0f}×: "
                                      "refused as a zip bomb")
                rows = 0
                for m in members:
                    if not (m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml")):
                        continue
                    with zf.open(m) as fh:
                        head = fh.read(4096)
                    found = _DIMENSION.search(head)
                    if found is None or found.group(3) is None:
                        continue
                    height = int(found.group(4)) - int(found.group(2)) + 1
                    width = _column_number(found.group(3)) - _column_number(found.group(1)) + 1
                    rows += height
                    if height * width > limits.max_cells:
                        raise _refuse(p, f"工作表有{height:,}行×{width:,}列，超过上限",
                                      f"a worksheet spans {height:,} rows × {width:,} columns, over the "
                                      f"{limits.max_cells:,}-cell limit")
                if rows > limits.max_rows + HEADER_SCAN_ROWS:  # a title and the headers are rows of a sheet
                    raise _refuse(p, f"共{rows:,}行，超过{limits.max_rows:,}行上限，请分成几个文件",
                                  f"{rows:,} rows, over the {limits.max_rows:,}-row limit: split the file")
        except zipfile.BadZipFile:
            raise _refuse(p, "不是有效的Excel文件（文件损坏或并非xlsx）", "not a valid Excel workbook") from None
    elif suffix in (".csv", ".txt", ".parquet"):
        rows = count_rows(p)
        if rows is not None and rows > limits.max_rows:
            raise _refuse(p, f"共{rows:,}行，超过{limits.max_rows:,}行上限，请分成几个文件",
                          f"{rows:,} rows, over the {limits.max_rows:,}-row limit: split the file")


def _encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the head decodes as such; otherwise GB18030, as Chinese exports often are."""
    head = path.read_bytes()[: 1 << 20]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 1 MiB boundary
            return "gb18030"
    return "utf-8-sig"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).upper() if "e" in repr(value) else repr(value)
    return str(value)


def _choose_header(rows: list[list[str]], score: HeaderScore | None) -> int:
    """Index of the header among the first non-blank rows: the best-scoring one, else the first non-blank."""
    filled = [i for i, r in enumerate(rows) if any(t.strip() for t in r)]
    if not filled:
        return -1
    if score is None:
        return filled[0]
    best = max(filled, key=lambda i: (score([t.strip() for t in rows[i]]), -i))
    return best if score([t.strip() for t in rows[best]]) > 0 else filled[0]


def _header_span(rows: list[list[str]], score: HeaderScore | None) -> tuple[int, int, list[str]]:
    """(first header row, last header row, the header cells): one row, or two when the header is two-level.

    Committees' forms often head a column group with a merged title (家庭收支情况 over 年收入 | 资产 | 负债)
    while 户主姓名 and 身份证号 are merged down across both rows; neither row names every column, the two
    read together do (the lower row's cell where it has one, else the upper's). Two rows are used only when
    they name more fields than the best single row. Indices are into ``rows``; -1 when all are blank.
    """
    h = _choose_header(rows, score)
    if h < 0 or score is None:
        return h, h, rows[h] if h >= 0 else []
    best = (score([t.strip() for t in rows[h]]), h, h, rows[h])
    for a, b in ((h - 1, h), (h, h + 1)):
        if a < 0 or b >= len(rows):
            continue
        combined = [lo.strip() or up.strip() for up, lo in itertools.zip_longest(rows[a], rows[b], fillvalue="")]
        if (found := score(combined)) > best[0]:
            best = (found, a, b, combined)
    return best[1], best[2], best[3]


def _drop_blank(frame: pd.DataFrame, rows: np.ndarray) -> Chunk:
    blank = (frame.astype("string").fillna("").apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    return Chunk(frame.loc[~blank].reset_index(drop=True), rows[~blank])


def _csv_header_lines(path: Path, encoding: str, header_row: int | None,
                      score: HeaderScore | None) -> tuple[int, int, list[str] | None]:
    """1-based first and last lines of the headers (given, found by ``score`` among the first lines, or the first
    non-blank), and the header cells when they span two lines (else None: pandas reads the one line)."""
    if header_row is not None:
        return header_row, header_row, None
    with path.open(encoding=encoding, newline="") as fh:
        head = [next(fh, "") for _ in range(HEADER_SCAN_ROWS)]
    rows = list(csv.reader(io.StringIO("".join(head)), delimiter="\t" if path.suffix == ".txt" else ","))
    a, b, cells = _header_span(rows, score)
    if a == b:
        return a + 1, b + 1, None
    names: list[str] = []
    for i, c in enumerate(cells):  # pandas takes no duplicate names: a second 备注 becomes 备注.1, as it would
        name = c or f"column_{i + 1}"
        names.append(name if name not in names else f"{name}.{names.count(name)}")
    return a + 1, b + 1, names


def _csv_chunks(path: Path, chunk_rows: int, header_row: int | None, score: HeaderScore | None) -> Iterator[Chunk]:
    encoding = _encoding(path)
    line, last, names = _csv_header_lines(path, encoding, header_row, score)
    line, last = max(line, 1), max(last, 1)
    options = {"header": None, "names": names, "skiprows": last} if names else {"skiprows": line - 1}
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows, encoding=encoding,
                         skip_blank_lines=False, sep=None if path.suffix == ".txt" else ",",
                         engine="python" if path.suffix == ".txt" else "c", **options)
    first = last + 1  # the line after the headers
    preamble = _csv_preamble(path, encoding, line)
    for frame in reader:
        rows = np.arange(first, first + len(frame))
        first += len(frame)
        chunk = _drop_blank(frame, rows)
        yield Chunk(chunk.frame, chunk.row_numbers, preamble)
        preamble = ()


def _csv_preamble(path: Path, encoding: str, line: int) -> tuple[str, ...]:
    with path.open(encoding=encoding, newline="") as fh:
        head = [next(fh, "") for _ in range(max(line - 1, 0))]
    rows = csv.reader(io.StringIO("".join(head)), delimiter="\t" if path.suffix == ".txt" else ",")
    return tuple(" ".join(t.strip() for t in r if t.strip()) for r in rows if any(t.strip() for t in r))


def sheet_names(path: str | Path) -> list[str]:
    """The worksheets of a workbook, in order (one unnamed "sheet" for CSV and Parquet files)."""
    p = Path(path)
    if not p.is_file():
        raise UnreadableFile(f"{p}: no such file")
    if p.suffix.lower() not in _SPREADSHEETS:
        return [""]
    check_file(p)  # the zip's inflation and the sheets' size, before calamine opens it
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        return list(CalamineWorkbook.from_path(str(p)).sheet_names)
    except (CalamineError, OSError, ValueError) as exc:
        raise UnreadableFile(f"{p.name}: not a valid Excel workbook ({exc})") from None


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=2)
def _open_book(path: str, _mtime_ns: int, _size: int):
    """The workbook opened once for all its sheets: opening parses the shared-strings table (every distinct
    name and ID of the file), which a township's twenty village sheets would otherwise pay twenty times. Keyed by
    the file's modification time and size, so a changed file is opened again."""
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(path)


def close_books() -> None:
    """Forget the workbooks held open for their sheets (:func:`_open_book`): a batch calls it when done, so an
    uploaded file is not held open — nor its strings in memory — after it was graded and deleted."""
    _open_book.cache_clear()


def _xlsx_chunks(path: Path, chunk_rows: int, header_row: int | None,
                 score: HeaderScore | None, sheet_name: str | None) -> Iterator[Chunk]:
    """Rows of one worksheet (the first by default), read with calamine (Rust): ten times openpyxl's speed."""
    book = _open_book(str(path), *_stamp(path))
    if sheet_name and sheet_name not in book.sheet_names:
        raise UnreadableFile(f"{path.name}: no worksheet {sheet_name!r} (it has {', '.join(book.sheet_names)})")
    sheet = book.get_sheet_by_name(sheet_name) if sheet_name else book.get_sheet_by_index(0)
    first = 1  # calamine yields from row 1 (empty leading rows included), from the first used column
    rows = iter(sheet.iter_rows())
    top: list[list[str]] = []  # the first rows, held until the header row is known
    for values in rows:
        top.append([v if v.__class__ is str else _cell_text(v) for v in values])
        if len(top) >= max((header_row or 0) - first + 1, HEADER_SCAN_ROWS):
            break
    if header_row is not None:
        h = last = header_row - first
        cells = top[h] if 0 <= h < len(top) else []
    else:
        h, last, cells = _header_span(top, score)
    if h < 0 or h >= len(top):
        where = f"worksheet {sheet_name!r}" if sheet_name else "the first worksheet"
        raise UnreadableFile(f"{path.name}: {where} is empty" if header_row is None else
                             f"{path.name}: there is no row {header_row} to read the headers from")
    headers = [t.strip() or f"column_{i + 1}" for i, t in enumerate(cells)]
    preamble = tuple(" ".join(t.strip() for t in r if t.strip()) for r in top[:h] if any(t.strip() for t in r))
    width = len(headers)
    buffer: list[list[str]] = []
    numbers: list[int] = []

    def read() -> Iterator[tuple[int, list[str]]]:
        yield from enumerate(top[last + 1:], start=first + last + 1)
        for r, values in enumerate(rows, start=first + len(top)):
            yield r, [v if v.__class__ is str else _cell_text(v) for v in values]  # most cells are text

    merged = _merged_below(sheet, first + last)
    body = _unmerged(read(), merged, sheet.start[1] if sheet.start else 0) if merged else read()

    for r, cells in body:
        buffer.append((cells + [""] * width)[:width])
        numbers.append(r)
        if len(buffer) >= chunk_rows:
            chunk = _drop_blank(pd.DataFrame(buffer, columns=headers, dtype="string"), np.array(numbers))
            yield Chunk(chunk.frame, chunk.row_numbers, preamble)
            buffer, numbers, preamble = [], [], ()
    chunk = _drop_blank(pd.DataFrame(buffer, columns=headers, dtype="string"), np.array(numbers, dtype=int))
    yield Chunk(chunk.frame, chunk.row_numbers, preamble)


def _merged_below(sheet: object, header_row: int) -> list[tuple[int, int, int, int]]:
    """Merged ranges reaching below the headers, as 1-based (first row, first column, last row, last column)."""
    ranges = getattr(sheet, "merged_cell_ranges", None) or []
    return sorted((r0 + 1, c0, r1 + 1, c1) for (r0, c0), (r1, c1) in ranges
                  if r1 + 1 > header_row and (r1 > r0 or c1 > c0))


def _unmerged(body: Iterator[tuple[int, list[str]]], merged: list[tuple[int, int, int, int]],
              first_column: int) -> Iterator[tuple[int, list[str]]]:
    """Rows with every cell of a merged range showing the range's value, as a person reading the sheet sees it.

    A township's roster often merges a village's name (or its code) down across all of its households; read
    cell by cell only the first household would have a village. Ranges are taken in row order and forgotten once
    passed, so memory stays bounded by the ranges open on one row.
    """
    pending = iter(merged)
    upcoming = next(pending, None)
    active: list[tuple[int, int, int, int, str]] = []
    for r, cells in body:
        while upcoming is not None and upcoming[0] <= r:
            r0, c0, r1, c1 = upcoming
            i = c0 - first_column
            value = cells[i] if r0 == r and 0 <= i < len(cells) else ""
            active.append((r0, c0, r1, c1, value))
            upcoming = next(pending, None)
        if active:
            active = [a for a in active if a[2] >= r]
            for r0, c0, _r1, c1, value in active:
                if not value:
                    continue
                for c in range(c0, c1 + 1):
                    i = c - first_column
                    if i >= 0 and (r, c) != (r0, c0):
                        cells.extend([""] * (i + 1 - len(cells)))
                        cells[i] = value
        yield r, cells


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    first = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        for col in frame.columns:
            s = frame[col]
            if pd.api.types.is_datetime64_any_dtype(s):
                frame[col] = s.dt.strftime("%Y-%m-%d")
            elif pd.api.types.is_float_dtype(s):
                frame[col] = s.map(_cell_text, na_action="ignore")
            else:
                frame[col] = s.map(_cell_text, na_action="ignore") if s.dtype == object else s.astype("string")
        frame = frame.astype("string").fillna("")
        rows = np.arange(first, first + len(frame))
        first += len(frame)
        yield _drop_blank(frame, rows)


def _invalid_file_errors() -> tuple[type[Exception], ...]:
    from python_calamine import CalamineError

    return (CalamineError,)


def read_chunks(path: str | Path, *, chunk_rows: int = 100_000, header_row: int | None = None,
                header_score: HeaderScore | None = None, sheet: str | None = None) -> Iterator[Chunk]:
    """Yield the file's rows as text chunks; raises :class:`UnreadableFile` with a plain reason if it cannot.

    Spreadsheets made by people often carry a title or notes above the headers.
    ``header_row`` (1-based; CSV and XLSX) says where the headers are; otherwise, with
    ``header_score``, the row among the first few that names the most known columns is
    taken, and without it the first non-blank row. ``sheet`` names the worksheet of a
    workbook (default: the first).
    """
    p = Path(path)
    if not p.is_file():
        raise UnreadableFile(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"{p.name}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED)}")
    try:
        if suffix in (".csv", ".txt"):
            yield from _csv_chunks(p, chunk_rows, header_row, header_score)
        elif suffix in _SPREADSHEETS:
            check_file(p)  # never hand a zip bomb to the native reader
            yield from _xlsx_chunks(p, chunk_rows, header_row, header_score, sheet)
        else:
            yield from _parquet_chunks(p, chunk_rows)
    except UnreadableFile:
        raise
    except _invalid_file_errors() as exc:
        raise UnreadableFile(f"{p.name}: not a valid Excel workbook ({exc})") from None
    except pd.errors.EmptyDataError:
        raise UnreadableFile(f"{p.name}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        kind = {".csv": "CSV", ".txt": "text", ".parquet": "Parquet", ".ods": "OpenDocument"}.get(suffix, "Excel")
        raise UnreadableFile(f"{p.name}: cannot be read as a {kind} file ({type(exc).__name__}: {exc})") from None


def count_rows(path: str | Path) -> int | None:
    """A cheap row count for progress bars (None when it would cost a full read)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        return None
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(p).metadata.num_rows
        except Exception:
            return None
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:  # the sheets' recorded dimensions: no rows are read
            wb = load_workbook(p, read_only=True)
            try:
                return sum(ws.max_row or 0 for ws in wb.worksheets)
            finally:
                wb.close()
        except Exception:
            return None
    if suffix in (".csv", ".txt"):
        with p.open("rb") as fh:
            return max(sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    return None
