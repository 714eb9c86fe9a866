"""Reading tabular files (CSV, XLSX, Parquet) as text, in chunks, with the row numbers a person sees.

Everything is read as text so that the contracts, not the file reader, decide
what a value means: Excel's habit of turning codes into numbers must be
*detected* (see :mod:`creditscore.parsing`), not silently accepted.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.errors import UnreadableFile

__all__ = ["SUPPORTED", "Chunk", "count_rows", "read_chunks"]

SUPPORTED = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")


@dataclass(slots=True)
class Chunk:
    """Raw text rows, their column headers as written, and each row's number in the file."""

    frame: pd.DataFrame
    row_numbers: np.ndarray


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


def _drop_blank(frame: pd.DataFrame, rows: np.ndarray) -> Chunk:
    blank = (frame.astype("string").fillna("").apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    return Chunk(frame.loc[~blank].reset_index(drop=True), rows[~blank])


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    encoding = _encoding(path)
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows, encoding=encoding,
                         skip_blank_lines=False, sep=None if path.suffix == ".txt" else ",",
                         engine="python" if path.suffix == ".txt" else "c")
    first = 2  # line 1 holds the headers
    for frame in reader:
        rows = np.arange(first, first + len(frame))
        first += len(frame)
        yield _drop_blank(frame, rows)


def _xlsx_chunks(path: Path, chunk_rows: int, header_row: int | None) -> Iterator[Chunk]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        headers: list[str] | None = None
        buffer: list[list[str]] = []
        numbers: list[int] = []
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            texts = [_cell_text(v) for v in values]
            if headers is None:
                if (header_row is None and any(t.strip() for t in texts)) or r == header_row:
                    headers = [t.strip() or f"column_{i + 1}" for i, t in enumerate(texts)]
                continue
            texts = (texts + [""] * len(headers))[: len(headers)]
            buffer.append(texts)
            numbers.append(r)
            if len(buffer) >= chunk_rows:
                yield _drop_blank(pd.DataFrame(buffer, columns=headers, dtype="string"), np.array(numbers))
                buffer, numbers = [], []
        if headers is None:
            raise UnreadableFile(f"{path.name}: the first worksheet is empty")
        yield _drop_blank(pd.DataFrame(buffer, columns=headers, dtype="string"), np.array(numbers, dtype=int))
    finally:
        wb.close()


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
    from openpyxl.utils.exceptions import InvalidFileException

    return (InvalidFileException,)


def read_chunks(path: str | Path, *, chunk_rows: int = 100_000, header_row: int | None = None) -> Iterator[Chunk]:
    """Yield the file's rows as text chunks; raises :class:`UnreadableFile` with a plain reason if it cannot.

    ``header_row`` (1-based, XLSX only) says where the headers are when a title or
    notes sit above them; by default the first non-empty row is the header.
    """
    p = Path(path)
    if not p.is_file():
        raise UnreadableFile(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"{p.name}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED)}")
    try:
        if suffix in (".csv", ".txt"):
            yield from _csv_chunks(p, chunk_rows)
        elif suffix in (".xlsx", ".xlsm"):
            yield from _xlsx_chunks(p, chunk_rows, header_row)
        else:
            yield from _parquet_chunks(p, chunk_rows)
    except UnreadableFile:
        raise
    except _invalid_file_errors() as exc:
        raise UnreadableFile(f"{p.name}: not a valid Excel workbook ({exc})") from None
    except pd.errors.EmptyDataError:
        raise UnreadableFile(f"{p.name}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        kind = {".csv": "CSV", ".txt": "text", ".xlsx": "Excel", ".xlsm": "Excel", ".parquet": "Parquet"}[suffix]
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
    if suffix in (".csv", ".txt"):
        with p.open("rb") as fh:
            return max(sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    return None
