"""Helpers the tests share (fixtures live in the conftest.py files; helpers are imported from here)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path

import pandas as pd

from creditscore.errors import InvalidCode
from creditscore.records.contracts import KINDS
from creditscore.records.ids import validate_resident_id
from creditscore.records.parsing import parse_records
from creditscore.records.vocabulary import match_headers

#: "Today" for parsing hand-written rows: late enough for every record the tests write.
TODAY = dt.date(2026, 6, 30)


def typed(kind: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """Hand-written rows → the parser's typed frame (and a check that they are valid)."""
    k = KINDS[kind]
    raw = pd.DataFrame([{key: "" if v is None else str(v) for key, v in row.items()} for row in rows], dtype="string")
    result = parse_records(k, match_headers(k, list(raw.columns)).apply(raw), today=TODAY)
    assert result.errors.empty, result.errors.to_string()
    return result.clean


def edited_copy(source: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of a declaration file with one edit, in ``folder`` under the same name (for error tests)."""
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {source.name}: the test no longer edits what it means to"
    path = folder / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path




def synthetic_service(folder: Path, *, seed: int, firms: int, households: int):
    """A grading service over a fresh SQLite store loaded with a synthetic population (the demo models)."""
    from creditscore.service.grading import GradingService
    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    settings = Settings(data_dir=folder / "data", model_source="demo")
    store = Store(settings.store_url)
    store.init()
    load_feeds(store, generate(SynthConfig(seed=seed, n_firms=firms, n_households=households))
               .write_files(folder / "feeds"))
    return GradingService(store, settings=settings)


_ID_WINDOW = re.compile(r"(?=(\d{17}[\dXx]))")


def full_resident_ids(text: str) -> list[str]:
    """Every full resident ID in ``text``: any 18 characters, wherever they sit (inside a longer number, touching
    letters), that pass the GB 11643 checksum and hold a real birth date.

    Valid IDs only, because a hex key or digest holds 18 digits in a row by chance (0.625**18 a position: with a
    few hundred pseudonymous keys in an output, a run in three): a plain 18-digit pattern failed CI on one. A leaked
    ID is valid (every ID the store holds passed validation), so nothing real is missed.
    """
    found = []
    for match in _ID_WINDOW.finditer(text):
        with contextlib.suppress(InvalidCode):
            found.append(validate_resident_id(match.group(1), allow_legacy=False))
    return found


def frame_text(frame: pd.DataFrame) -> str:
    """A frame's every value and column name as one text, for :func:`full_resident_ids`."""
    return "\n".join([" ".join(map(str, frame.columns)), frame.astype(str).to_csv(index=True)])
