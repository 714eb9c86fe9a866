"""Batch grading of a household file (CSV / XLSX / Parquet): every input row comes back, scored or explained.

A village assessor's file holds household survey rows (户主姓名, 身份证号, 村, 家庭人口,
年收入, …) as people really type them: a title above the headers, blank rows, full-width
digits, units in the headers (年收入（万元）) or in the cells (3.5万元), IDs that Excel
turned into numbers. Each valid row is graded with the household's other records from
the store (court listings, utility arrears, loans) known at the assessment date; each
invalid row is returned with its row number, column and a reason in English and in
Chinese. Scored + rejected = rows read, always.

The file is read and graded chunk by chunk, so memory follows the chunk size and the
compact per-row results, not the file; villages and townships are assessed at the end
from the graded households of the whole file (the file is the village's roster).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.decisions.scorer import Scorer
from creditscore.errors import InvalidRecord
from creditscore.features import compute_features
from creditscore.records.contracts import KINDS, FieldType
from creditscore.records.ids import mask_resident_id
from creditscore.records.messages_zh import reason_zh
from creditscore.records.parsing import ERROR_COLUMNS, header_matches, header_unit, map_headers, parse_records
from creditscore.records.readers import Limits, check_file, count_rows, read_chunks, sheet_names
from creditscore.settings import get_settings
from creditscore.store import Store
from creditscore.store.features import store_records

__all__ = ["BatchResult", "grade_household_file"]

KIND = KINDS["households"]

# Columns an assessor's roster may leave out, and how the batch supplies them.
_DERIVABLE = ("surveyed_on", "county_code", "township_code", "county_name", "township_name")
# What the village assessment needs of a household's loans and arrears.
_LOAN_COLUMNS = ["subject_id", "amount", "opened_on", "closed_on", "written_off_on", "default_on"]
_ARREARS_COLUMNS = ["subject_id", "started_on"]

Progress = Callable[[int, int | None], None]


@dataclass
class BatchResult:
    """The graded households, the rows that could not be graded, and the village and township assessment."""

    households: pd.DataFrame  # one row per scored input row, in file order
    errors: pd.DataFrame  # one row per problem: row, column, value, reason, reason_zh
    villages: pd.DataFrame
    townships: pd.DataFrame
    rows: int  # data rows read (blank rows are not rows)
    as_of: dt.date
    grades: list[str] = field(default_factory=list)  # the household scale's grades, best first
    model_version: str = ""
    policy_version: str = ""
    notes: list[str] = field(default_factory=list)  # how the file was read: header row, units, derived columns
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: read, store, grade, villages

    @property
    def results(self) -> pd.DataFrame:  # the name the service used first
        return self.households

    @property
    def rejected_rows(self) -> int:
        """Rows not graded: a row is one (sheet, row number) — the same number on two sheets is two rows."""
        if not len(self.errors):
            return 0
        keys = ["sheet", "row"] if "sheet" in self.errors else ["row"]
        return len(self.errors[keys].drop_duplicates())

    @property
    def scored_rows(self) -> int:
        return len(self.households)


def _header_score(cells: list[str]) -> int:
    return header_matches(KIND, cells)


class _Roster:
    """Turns raw chunks into parsed survey rows, remembering what it learnt from the headers."""

    def __init__(self, columns: list[str], as_of: pd.Timestamp, today: dt.date, *, sheet: str = "",
                 seen: dict[str, tuple[str, int]] | None = None) -> None:
        self.mapping = map_headers(KIND, columns, optional=_DERIVABLE)
        self.sheet = sheet
        # head_id → (sheet, row) it was first graded on, across the workbook's sheets: duplicates are errors
        self.seen: dict[str, tuple[str, int]] = {} if seen is None else seen
        self.listed: dict[str, int] = {}
        self.as_of, self.today = as_of, today
        self.headers = {v: c for c, v in self.mapping.items()}
        present = set(self.mapping.values())
        self.missing = [name for name in _DERIVABLE if name not in present]
        # optional facts the file has no column for: the household's latest stored survey supplies them
        self.from_store = [f.name for f in KIND.fields if not f.required and f.name not in present]
        self.in_wan = [c for c, name in self.mapping.items()
                       if KIND.get_field(name).type is FieldType.MONEY and header_unit(c) == "万元"]

    def notes(self) -> list[str]:
        """How the file was read, in Chinese for the assessor and in English."""
        out = [f"“{c}”列按表头所示以万元计 — column {c!r} is in 10,000 yuan (万元), as its header says"
               for c in self.in_wan]
        labels = {
            "surveyed_on": "无“采集日期”列：以评价基准日为采集日期 — no surveyed_on column: the assessment date",
            "county_code": "无“县区代码”列：取村代码前6位 — no county_code column: first 6 digits of the village code",
            "township_code": "无“乡镇代码”列：取村代码前9位 — "
                             "no township_code column: first 9 digits of the village code",
            "county_name": "无“县区”列：取库中名称，否则用代码 — no county_name column: from the store, else the code",
            "township_name": "无“乡镇”列：取库中名称，否则用代码 — "
                             "no township_name column: from the store, else the code",
        }
        out += [labels[m] for m in self.missing]
        out += [f"无“{KIND.get_field(m).zh}”列：取该户最近一次入库采集的值 — "
                f"no {m} column: the latest stored survey's value" for m in self.from_store]
        return out

    def parse(self, raw: pd.DataFrame, rows: np.ndarray, places: dict[str, tuple[str, str]]
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame = raw[list(self.mapping)].rename(columns=self.mapping)
        for c in self.in_wan:
            name = self.mapping[c]
            text = frame[name].astype("string").str.strip()
            plain = text.str.fullmatch(r"[-+]?[\d,，.]+").fillna(False)
            frame[name] = text.where(~plain, text + "万元")
        village = frame["village_code"].astype("string").str.strip()
        # households listed per village, graded or not: a village is assessed only when enough of them were graded
        for code, n in village.str.normalize("NFKC").value_counts().items():
            self.listed[str(code)] = self.listed.get(str(code), 0) + int(n)
        if "surveyed_on" in self.missing:
            frame["surveyed_on"] = self.as_of.date().isoformat()
        if "county_code" in self.missing:
            frame["county_code"] = village.str[:6]
        if "township_code" in self.missing:
            frame["township_code"] = village.str[:9]
        for name, i in (("county_name", 0), ("township_name", 1)):
            if name in self.missing:
                code = frame["county_code" if i == 0 else "township_code"].astype("string")
                frame[name] = code.map(lambda c, i=i: places.get(c, (c, c))[i] if isinstance(c, str) else c)
        parsed = parse_records(KIND, frame, row_numbers=rows, headers=self.headers, today=self.today)
        clean, errors = parsed.clean, parsed.errors
        clean["_row"] = rows[clean.index.to_numpy()]
        extra = []
        late = (clean["surveyed_on"] > self.as_of).to_numpy()
        if late.any():
            d = clean.loc[late]
            extra.append(pd.DataFrame({
                "_pos": d.index, "row": d["_row"], "column": self.headers.get("surveyed_on", "surveyed_on"),
                "value": d["surveyed_on"].dt.strftime("%Y-%m-%d"),
                "reason": [f"surveyed on {s:%Y-%m-%d}, after the assessment date {self.as_of:%Y-%m-%d}: "
                           "a survey cannot be used before it was made" for s in d["surveyed_on"]]}))
            clean = clean.loc[~late]
        heads = clean["head_id"]
        earlier = heads.map(self.seen).notna().to_numpy()  # seen in an earlier chunk or sheet
        dup = earlier | heads.duplicated(keep="first").to_numpy()  # or earlier in this chunk
        first = clean.loc[~dup]
        self.seen.update(zip(first["head_id"], ((self.sheet, int(r)) for r in first["_row"]), strict=True))
        if dup.any():
            d = clean.loc[dup]

            def where(head: str) -> str:
                sheet, row = self.seen[head]
                return f"row {row}" + (f" of sheet {sheet!r}" if sheet and sheet != self.sheet else "")

            extra.append(pd.DataFrame({
                "_pos": d.index, "row": d["_row"], "column": self.headers.get("head_id", "head_id"),
                "value": d["head_id"].map(mask_resident_id),
                "reason": [f"the same head of household is on {where(h)}: one row per household"
                           for h in d["head_id"]]}))
            clean = clean.loc[~dup]
        if extra:
            errors = pd.concat([errors, *extra], ignore_index=True)
        return clean, errors


def _places(store: Store) -> dict[str, tuple[str, str]]:
    """County and township names by code, from the store's surveys (for rosters that give only codes)."""
    known = store.records("households")[["county_code", "county_name", "township_code", "township_name"]]
    out = dict(zip(known["county_code"], zip(known["county_name"], known["county_name"], strict=True),
                   strict=True))
    out.update(zip(known["township_code"], zip(known["county_name"], known["township_name"], strict=True),
                   strict=True))
    return out


class _Clock:
    """Seconds spent per stage, summed over chunks."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.totals[stage] = self.totals.get(stage, 0.0) + now - self._last
        self._last = now


def _joined_reasons(why: pd.DataFrame, subjects: pd.Index) -> dict[str, np.ndarray]:
    """Each subject's adverse reasons in rank order, joined per column (a groupby-join costs 30× more)."""
    adverse = why[why["kind"] == "adverse"]
    at = subjects.get_indexer(adverse["subject_id"])
    out = {}
    for column, sep in (("text_zh", "；"), ("text_en", "; "), ("reason_code", ";")):
        joined = np.full(len(subjects), "", dtype=object)
        for rank in np.sort(adverse["rank"].unique()):
            sel = (adverse["rank"] == rank).to_numpy()
            where, text = at[sel], adverse[column].to_numpy(dtype=object)[sel]
            joined[where] = np.where(joined[where] == "", text, joined[where] + sep + text)
        out[column] = joined
    return out


def _grade_chunk(store: Store, scorer: Scorer, clean: pd.DataFrame, t: pd.Timestamp, clock: _Clock, *,
                 from_store: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-row results, the households' loans, their arrears) for one chunk of valid survey rows."""
    catalogue = scorer.catalogue
    heads = clean["head_id"].astype(str).tolist()
    clock.lap("read and validate")
    stored = store_records(store, catalogue, as_of=t, subjects=heads)
    clock.lap("store")
    survey = clean.drop(columns=["_row"])
    if from_store and len(stored["households"]):
        latest = stored["households"].sort_values("surveyed_on").drop_duplicates("head_id", keep="last")
        latest = latest.set_index("head_id")
        for name in from_store:
            survey[name] = survey["head_id"].map(latest[name]).astype(survey[name].dtype)
    # the file's own survey rows are the freshest facts: they stand beside the stored surveys
    stored["households"] = pd.concat([stored["households"], survey], ignore_index=True)
    features = compute_features(catalogue, stored, t, scorer.policy, subjects=heads)
    scored = scorer.score(features)
    d = scored.decisions
    adverse = _joined_reasons(scored.reasons, d.index)
    per_head = pd.DataFrame({
        "grade": d["final_grade"], "model_grade": d["model_grade"], "score": d["score"].round(2),
        "pd": d["pd"].round(6), "eligible": d["eligible"], "credit_line_yuan": d["credit_line_yuan"],
        "rate_adjustment_bp": d["rate_adjustment_bp"], "max_term_months": d["max_term_months"],
        "overrides": d["overrides"].map(";".join), "reasons_zh": adverse["text_zh"], "reasons_en": adverse["text_en"],
        "reason_codes": adverse["reason_code"],
        "model_version": d["model_version"], "policy_version": d["policy_version"],
    })
    cols = ["_row", "head_id", "head_name", "county_code", "county_name", "township_code", "township_name",
            "village_code", "village_name"]
    out = clean[cols].rename(columns={"_row": "row"}).join(per_head, on="head_id")
    loans = stored["loans"][_LOAN_COLUMNS] if len(stored["loans"]) else pd.DataFrame(columns=_LOAN_COLUMNS)
    arrears = stored.get("delinquencies")
    if arrears is None:
        arrears = store.records("delinquencies", as_of=t.date(), subjects=heads)
    clock.lap("features, grades, reasons")
    return out, loans, arrears[_ARREARS_COLUMNS]


def _with_zh(errors: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if not len(errors):
        return pd.DataFrame(columns=["sheet", *ERROR_COLUMNS, "reason_zh"])
    distinct = {r: reason_zh(r) for r in errors["reason"].unique()}
    out = errors[["sheet", *ERROR_COLUMNS]].copy()
    out["row"] = out["row"].astype("int64")  # chunks without errors concatenate as object columns
    out["reason_zh"] = out["reason"].map(distinct)
    order = {name: i for i, name in enumerate(names)}
    return out.sort_values(["sheet", "row"], key=lambda c: c.map(order) if c.name == "sheet" else c,
                           kind="stable").reset_index(drop=True)


def grade_household_file(store: Store, scorer: Scorer, path: str | Path, *, as_of: dt.date | None = None,
                         header_row: int | None = None,
                         chunk_rows: int = 50_000, progress: Progress | None = None, today: dt.date | None = None,
                         sheets: list[str] | None = None, limits: Limits | None = None) -> BatchResult:
    """Grade every household row of ``path`` with the household ``scorer`` and the households' records in ``store``.

    A workbook's worksheets are all read (or those named in ``sheets``) — a township's workbook often
    has one sheet per village; a sheet without household columns (instructions, a summary) is
    skipped with a note. Raises :class:`creditscore.errors.UnreadableFile` when the file cannot be
    read at all and :class:`creditscore.errors.InvalidRecord` when a sheet lacks a column that no row
    can do without; every other problem is an errors row and the other rows are still graded.
    """
    from creditscore.rural.villages import assess_villages

    started = time.perf_counter()
    clock = _Clock()
    t = pd.Timestamp(as_of or dt.date.today())
    today = today or dt.date.today()
    # a hostile or huge file is refused before it is read; the row limit is the settings' unless given
    check_file(path, limits or Limits(max_rows=get_settings().batch_max_rows))
    total = count_rows(path)
    names = sheet_names(path) if sheets is None else list(sheets)
    several = len(names) > 1
    rosters: list[_Roster] = []
    seen: dict[str, tuple[str, int]] = {}
    skipped: list[str] = []
    places: dict[str, tuple[str, str]] | None = None
    graded, loans, arrears, errors = [], [], [], []
    read = 0
    if progress:
        progress(0, total)
    for name in names:
        roster: _Roster | None = None
        for chunk in read_chunks(path, chunk_rows=chunk_rows, header_row=header_row, header_score=_header_score,
                                 sheet=name or None):
            if roster is None:
                columns = list(chunk.frame.columns)
                if several and _header_score(columns) < 2:  # an instructions or summary sheet, not households
                    skipped.append(name)
                    break
                try:
                    roster = _Roster(columns, t, today, sheet=name if several else "", seen=seen)
                except InvalidRecord as exc:
                    raise InvalidRecord(f"worksheet {name!r}: {exc}" if several else str(exc)) from None
                rosters.append(roster)
                if places is None and {"county_name", "township_name"} & set(roster.missing):
                    places = _places(store)
            read += len(chunk.frame)
            if len(chunk.frame):
                clean, problems = roster.parse(chunk.frame, chunk.row_numbers, places or {})
                problems["sheet"] = roster.sheet
                errors.append(problems)
                if len(clean):
                    out, chunk_loans, chunk_arrears = _grade_chunk(store, scorer, clean, t, clock,
                                                                    from_store=roster.from_store)
                    out.insert(0, "sheet", roster.sheet)
                    graded.append(out)
                    loans.append(chunk_loans)
                    arrears.append(chunk_arrears)
            clock.lap("read and validate")
            if progress:
                progress(read, total)
    if not rosters:
        raise InvalidRecord(f"{Path(path).name}: no worksheet has household columns (户主姓名, 身份证号, …)"
                            if skipped else f"{Path(path).name}: no rows to grade")
    households = pd.concat(graded, ignore_index=True) if graded else pd.DataFrame(columns=["sheet", "row",
                                                                                          "head_id", "grade"])
    villages = townships = pd.DataFrame()
    if len(households) and scorer.policy.rural_assessment is not None:
        villages, townships = assess_villages(
            households.set_index("head_id")["grade"], households, pd.concat(loans, ignore_index=True),
            pd.concat(arrears, ignore_index=True), as_of=t, policy=scorer.policy,
            listed=pd.Series([n for r in rosters for n in r.listed.values()],
                             index=[c for r in rosters for c in r.listed], dtype="int64").groupby(level=0).sum())
    clock.lap("villages and townships")
    model_version = str(households["model_version"].iloc[0]) if len(households) else ""
    policy_version = str(households["policy_version"].iloc[0]) if len(households) else scorer.policy.version
    households = households.drop(columns=["model_version", "policy_version"], errors="ignore")
    households["head_id"] = households["head_id"].map(mask_resident_id)  # results are for display
    error_table = _with_zh(pd.concat(errors, ignore_index=True) if errors else pd.DataFrame(), names)
    if progress:
        progress(read, read)
    notes = list(dict.fromkeys(n for r in rosters for n in r.notes()))  # the same note once, not per sheet
    notes += [f"工作表“{s}”没有农户信息列，未读取 — worksheet {s!r} has no household columns: not read"
              for s in skipped]
    order = {name: i for i, name in enumerate(names)}
    households = households.sort_values(["sheet", "row"], key=lambda c: c.map(order) if c.name == "sheet" else c,
                                        kind="stable").reset_index(drop=True)
    return BatchResult(households=households, errors=error_table, villages=villages, townships=townships,
                       grades=scorer.scale.names, rows=read, as_of=t.date(),
                       model_version=model_version, policy_version=policy_version, notes=notes,
                       seconds=time.perf_counter() - started, timings=clock.totals)
