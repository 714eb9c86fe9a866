"""Departmental feeds: the synthetic population written as the files a platform receives.

So that the whole path files → ingest → store is exercised, the generator does not
write to the store directly: it writes files with the official Chinese headers
(or the English field names), amounts in yuan, Chinese enumeration labels, and
the mess of real feeds:

* each record kind arrives in two files split by publication date, and a share
  of the first file's rows is sent again in the second (duplicates across files);
* a small share of rows is corrupted on the way (a wrong check character, an
  impossible date) — ingest must reject exactly those, with reasons;
* a few records are objected to (异议), in an objections feed;
* optional fields are often empty; some records are published long after the
  event (late arrivals); a few household heads still have 15-digit IDs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.errors import InvalidValue
from creditscore.records.contracts import KINDS, FieldType, RecordKind
from creditscore.records.ids import USCC_ALPHABET
from creditscore.records.parsing import record_keys

#: The order a store must be loaded in: subjects first, objections last.
LOAD_ORDER = ["enterprises", "households", "tax_grades", "tax_payments", "wage_arrears", "penalties", "contracts",
              "court_listings", "market_listings", "social_insurance_arrears", "utility_arrears", "loans",
              "delinquencies", "objections"]
OBJECTED_KINDS = ("penalties", "court_listings", "wage_arrears")


def _text(kind: RecordKind, frame: pd.DataFrame, chinese: bool) -> pd.DataFrame:
    """Typed contract columns → the text a department's export would contain."""
    out = {}
    for f in kind.fields:
        if f.name not in frame:
            continue
        s = frame[f.name]
        if f.type in (FieldType.DATE, FieldType.MONTH):
            fmt = "%Y-%m" if f.type is FieldType.MONTH else "%Y-%m-%d"
            text = pd.to_datetime(s).dt.strftime(fmt)
        elif f.type is FieldType.MONEY:
            fen = s.astype("Int64")
            text = (fen // 100).astype("string") + "." + (fen % 100).astype("string").str.zfill(2)
        elif f.type is FieldType.ENUM and chinese and f.choices is not None:
            text = s.astype("string").map({m.value: m.zh for m in f.choices})
        elif f.type is FieldType.DECIMAL:
            text = s.astype("Float64").round(1).astype("string")
        else:
            text = s.astype("string")
        # Arrow-backed strings, not Python objects: a million rows of text would otherwise cost gigabytes.
        out[f.zh if chinese else f.name] = text.astype("string[pyarrow]").fillna("")
    return pd.DataFrame(out).reset_index(drop=True)


def _corrupt(rng: np.random.Generator, kind: RecordKind, text: pd.DataFrame, share: float, chinese: bool) -> int:
    """Damage a share of rows in place (a wrong check character or an impossible date); returns how many."""
    n = round(len(text) * share)
    if n == 0:
        return 0
    rows = rng.choice(len(text), n, replace=False)
    id_field = kind.fields[0]
    date_field = next((f for f in kind.fields if f.type is FieldType.DATE and f.required), None)
    for k, r in enumerate(rows):
        if k % 2 == 0 or date_field is None:
            col = id_field.zh if chinese else id_field.name
            code = text.iat[r, text.columns.get_loc(col)]
            alphabet = USCC_ALPHABET if not code[:17].isdigit() else "0123456789X"
            swap = alphabet[(alphabet.index(code[-1]) + 1) % len(alphabet)] if code[-1] in alphabet else "0"
            text.iat[r, text.columns.get_loc(col)] = code[:-1] + swap
        else:
            col = date_field.zh if chinese else date_field.name
            text.iat[r, text.columns.get_loc(col)] = "2023-02-30"
    return n


def objections(rng: np.random.Generator, tables: dict[str, pd.DataFrame], share: float,
               end: pd.Timestamp) -> pd.DataFrame:
    """A few subjects object to a record: filed after publication, answered within 20 days unless recent."""
    frames = []
    for name in OBJECTED_KINDS:
        frame = tables[name]
        n = round(len(frame) * share)
        if n == 0:
            continue
        picked = frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]
        filed = picked["published_on"].to_numpy().astype("datetime64[D]") + rng.integers(5, 200, n).astype(
            "timedelta64[D]")
        resolved = filed + rng.integers(3, 21, n).astype("timedelta64[D]")
        open_ = resolved > np.datetime64(end.date())
        status = np.where(open_, "pending", np.where(rng.random(n) < 0.25, "upheld", "rejected"))
        frames.append(pd.DataFrame({
            "target_kind": name, "target_key": record_keys(KINDS[name], picked).to_numpy(),
            "filed_on": pd.to_datetime(filed), "filed_by": "信用主体本人",
            "reason": np.array(["记录与事实不符", "已整改完毕，申请信用修复", "处罚已撤销"])[rng.integers(0, 3, n)],
            "status": status,
            "resolved_on": pd.to_datetime(np.where(open_, np.datetime64("NaT"), resolved)),
            "resolved_by": np.where(open_, None, "信用信息中心"),
        }))
    if not frames:  # a population too small for anyone to object
        return pd.DataFrame(columns=["target_kind", "target_key", "filed_on", "filed_by", "reason", "status",
                                     "resolved_on", "resolved_by"]).astype({"filed_on": "datetime64[s]",
                                                                            "resolved_on": "datetime64[s]"})
    out = pd.concat(frames, ignore_index=True)
    return out[out["filed_on"] <= end].reset_index(drop=True)


def write_feeds(population, folder: Path, *, fmt: str = "csv", chinese_headers: bool = True) -> dict[str, list[Path]]:
    """Write every kind's feed files into ``folder``; returns kind → files in load order."""
    if fmt not in ("csv", "parquet", "xlsx"):
        raise InvalidValue(f"format must be csv, parquet or xlsx, got {fmt!r}")
    cfg = population.config
    rng = np.random.default_rng([cfg.seed, 1])
    folder.mkdir(parents=True, exist_ok=True)
    tables = dict(population.tables)
    tables["objections"] = objections(rng, tables, cfg.objection_share, population.horizon_end)
    written: dict[str, list[Path]] = {}
    for name in LOAD_ORDER:
        kind = KINDS[name]
        frame = tables[name]
        text = _text(kind, frame, chinese_headers)
        if kind.has_published_on and len(text) > 1:
            cut = frame["published_on"].quantile(0.5)
            first = (frame["published_on"] <= cut).to_numpy()
            part1 = text[first]
            dup = part1.sample(frac=cfg.duplicate_share, random_state=np.random.RandomState(cfg.seed % 2**32))
            parts = [part1.reset_index(drop=True), pd.concat([text[~first], dup], ignore_index=True)]
        else:
            parts = [text]
        written[name] = []
        for k, part in enumerate(parts, start=1):
            if name != "objections":
                _corrupt(rng, kind, part, cfg.corrupt_share, chinese_headers)
            stem = f"{name}_part{k}" if len(parts) > 1 else name
            path = folder / f"{stem}.{fmt}"
            if fmt == "csv":
                part.to_csv(path, index=False, encoding="utf-8")
            elif fmt == "parquet":
                part.to_parquet(path, index=False)
            else:
                part.to_excel(path, index=False, sheet_name=kind.zh[:31])
            written[name].append(path)
    (folder / "README.txt").write_text(
        f"Synthetic credit records generated by creditscore.synth with seed {cfg.seed}.\n"
        "Load each file with: creditscore ingest KIND FILE, in the order of LOAD_ORDER in "
        "creditscore.synth.feeds (subjects first, objections last). creditscore demo-data generates and loads "
        "them in one step.\n", encoding="utf-8")
    return written


def load_feeds(store, written: dict[str, list[Path]], *,
               ingest: Callable[..., object] | None = None) -> list:
    """Ingest written feeds into ``store`` in load order; returns the ingest reports.

    ``ingest`` may replace :func:`creditscore.store.ingest_file` (the CLI passes one
    that draws a progress bar).
    """
    from creditscore.store import ingest_file

    run = ingest or ingest_file
    return [run(store, name, path) for name in LOAD_ORDER for path in written.get(name, [])]


def load_demo(store, folder: str | Path, *, firms: int = 3_000, households: int = 4_000,
              seed: int = 20240630) -> list:
    """Generate the demo population, write its feeds to ``folder`` and ingest them (as ``creditscore demo``)."""
    from creditscore.synth import SynthConfig, generate

    store.init()
    population = generate(SynthConfig(seed=seed, n_firms=firms, n_households=households))
    return load_feeds(store, population.write_files(Path(folder)))
