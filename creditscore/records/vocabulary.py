"""What people call a record's columns and write in them: header vocabularies as data, matched with reasons.

A village committee heads its liabilities column ``负债(元)``, its head of household ``户主``, its evaluation
``村委评价``, and writes 优/良/中/差 in it. None of that is a contract's official header, and an assessor cannot
rename columns. The names are declared in YAML beside the contracts (``vocabularies/<kind>.yaml``); this module
matches a file's headers against them and says, for every column, what it was read as and why — or that it
was not read, or that it could be two things (an error naming both: a guess would grade the wrong fact).

A mapping can also be given (``--columns mapping.yaml``): it wins over every rule, and :func:`mapping_yaml`
writes the mapping a file was read with in that same format, so a layout no rule knows is mapped once and
reused next year.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from creditscore.errors import InvalidRecord
from creditscore.records.contracts import Field, FieldType, RecordKind

__all__ = ["OTHER_COLUMNS", "HeaderMatch", "Vocabulary", "header_score", "load_mapping", "mapping_yaml",
           "match_headers", "normalise_header", "parse_mapping", "vocabulary"]

_DIR = Path(__file__).resolve().parent / "vocabularies"
#: Non-field columns a vocabulary may name (``others``): recognised, never reported as "not read".
OTHER_COLUMNS = ("serial", "phone", "remark")
_PUNCTUATION = re.compile(r"[()（）\[\]【】<>《》_\-—:：,，、.。·'\"“”‘’*#]")
_SPACES = re.compile(r"\s+")


def normalise_header(text: object) -> str:
    """A header as matched: NFKC (full-width to half-width), lower case, no spaces or line breaks inside."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text))).lower()


def _bare(text: str) -> str:
    return _PUNCTUATION.sub("", text)


@dataclass(frozen=True)
class Vocabulary:
    """One record kind's header names, units, value spellings and non-record lines (see the YAML files)."""

    kind: RecordKind
    names: dict[str, tuple[str, ...]]  # field (or other column) → names, normalised and bare
    prefixes: tuple[str, ...] = ()
    units: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → spelling (lower) → value
    yes_no: dict[str, bool] = field(default_factory=dict)
    not_records: dict[str, tuple[str, ...]] = field(default_factory=dict)  # totals / notes / signatures → words

    def describe(self, name: str) -> str:
        """A field's name for a person: 家庭负债 (liabilities)."""
        if name in OTHER_COLUMNS:
            return {"serial": "序号 (serial number)", "phone": "联系电话 (phone)", "remark": "备注 (remark)"}[name]
        return f"{self.kind.get_field(name).zh} ({name})"


@functools.cache
def vocabulary(kind: RecordKind) -> Vocabulary:
    """The kind's vocabulary: its contract's headers, plus ``vocabularies/<kind>.yaml`` when there is one, over
    ``vocabularies/common.yaml`` (the units and yes/no words every kind's files use)."""
    path = _DIR / f"{kind.name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    common = _common()
    data = {**data, "units": {**common.get("units", {}), **(data.get("units") or {})},
            "yes_no": {answer: [*common.get("yes_no", {}).get(answer, []), *(data.get("yes_no") or {}).get(answer, [])]
                       for answer in ("yes", "no")}}
    names: dict[str, list[str]] = {f.name: [*f.headers()] for f in kind.fields}
    for name, extra in (data.get("fields") or {}).items():
        kind.get_field(name)  # a typo in the YAML is an error at load, not a column never matched
        names[name].extend(str(e) for e in extra)
    for name, extra in (data.get("others") or {}).items():
        if name not in OTHER_COLUMNS:
            raise InvalidRecord(f"{path.name}: unknown column kind {name!r} under others; expected {OTHER_COLUMNS}")
        names[name] = [str(e) for e in extra]
    values: dict[str, dict[str, str]] = {}
    for name, table in (data.get("values") or {}).items():
        f = kind.get_field(name)
        allowed = {m.value for m in f.choices} if f.choices is not None else set()
        spellings: dict[str, str] = {}
        for value, words in table.items():
            if value not in allowed:
                raise InvalidRecord(f"{path.name}: {name} has no value {value!r}; expected one of {sorted(allowed)}")
            spellings.update({normalise_header(w): value for w in words})
        values[name] = spellings
    yes_no = {normalise_header(w): answer == "yes" for answer, words in (data.get("yes_no") or {}).items()
              for w in words}
    return Vocabulary(
        kind=kind,
        names={k: tuple(dict.fromkeys(_bare(normalise_header(v)) for v in vs)) for k, vs in names.items()},
        prefixes=tuple(normalise_header(p) for p in data.get("prefixes") or ()),
        units={normalise_header(k): str(v) for k, v in (data.get("units") or {}).items()},
        values=values, yes_no=yes_no,
        not_records={k: tuple(normalise_header(w) for w in ws) for k, ws in (data.get("not_households") or {}).items()})


@functools.cache
def _common() -> dict:
    return yaml.safe_load((_DIR / "common.yaml").read_text(encoding="utf-8")) or {}


#: Units a money column's header may declare, and what a plain number in it is then written as for the parser.
_MONEY_UNITS = {"元": "", "千元": "千元", "万元": "万元"}


@dataclass
class HeaderMatch:
    """How a file's columns were read: column → field, why, the unit each declares, and what was not read."""

    mapping: dict[str, str]  # column as headed → field name (or an OTHER_COLUMNS name)
    reasons: dict[str, str]  # column → "负债(元) → 家庭负债 (liabilities), in 元"
    units: dict[str, str]  # column → unit written in its header
    unread: list[str]  # columns that match nothing
    kind: RecordKind | None = None

    @property
    def fields(self) -> dict[str, str]:
        """Only the record's fields: column → field."""
        return {c: n for c, n in self.mapping.items() if n not in OTHER_COLUMNS}

    @property
    def headers(self) -> dict[str, str]:
        """Field → the column as headed in the file: errors name the column a person sees."""
        return {n: c for c, n in self.fields.items()}

    @property
    def scaled(self) -> dict[str, str]:
        """Money columns whose header gives a unit other than 元: column → that unit (万元, 千元)."""
        if self.kind is None:
            return {}
        return {c: u for c, u in self.units.items() if c in self.fields and _MONEY_UNITS.get(u)
                and self.kind.get_field(self.fields[c]).type is FieldType.MONEY}

    def apply(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The file's text columns as the record's fields, for :func:`~creditscore.records.parsing.parse_records`.

        Every door reads headers through here, so a column headed ``年收入（万元）`` is read in 万元 whether it
        arrives by ``ingest``, a household batch or an inline record — never 35 yuan for 35万. A cell that names
        its own unit (``3.5万元``) keeps it.
        """
        fields = self.fields
        frame = raw[list(fields)].rename(columns=fields)
        for column, unit in self.scaled.items():
            name = fields[column]
            text = frame[name].astype("string").str.strip()
            plain = text.str.fullmatch(r"[-+]?[\d,，.]+").fillna(False)
            frame[name] = text.where(~plain, text + _MONEY_UNITS[unit])
        return frame

    def unit_notes(self) -> list[str]:
        """One line per scaled column, in Chinese and English, for the summary a person reads."""
        return [f"“{c}”列按表头所示以{u}计 — column {c!r} is in {u}, as its header says"
                for c, u in self.scaled.items()]

    def column_for(self, name: str) -> str | None:
        return next((c for c, n in self.mapping.items() if n == name), None)


def _split_unit(key: str, vocab: Vocabulary) -> tuple[str, str | None]:
    """The header without the unit it declares, and that unit: 年收入(万元), 负债/元, 收入（单位：万元）."""
    units = sorted(vocab.units, key=len, reverse=True)
    for unit in units:
        for pattern in (rf"[(\[（【](?:单位[:：])?{re.escape(unit)}[)\]）】]$", rf"/{re.escape(unit)}$"):
            m = re.search(pattern, key)
            if m:
                return key[:m.start()], vocab.units[unit]
    return key, None


def _candidates(key: str, vocab: Vocabulary) -> tuple[list[str], str]:
    """The fields ``key`` (normalised, bare, no unit) may be, and how it was recognised."""
    exact = [n for n, names in vocab.names.items() if key in names]
    if exact:
        return exact, "name"
    for prefix in vocab.prefixes:
        if key.startswith(prefix) and len(key) > len(prefix):
            rest = key[len(prefix):]
            found = [n for n, names in vocab.names.items() if rest in names]
            if found:
                return found, f"name after the prefix {prefix}"
    best: dict[str, int] = {}
    for n, names in vocab.names.items():
        longest = max((len(w) for w in names if len(w) >= 2 and w in key), default=0)
        if longest:
            best[n] = longest
    if not best:
        return [], ""
    top = max(best.values())
    return [n for n, v in best.items() if v == top], "a name inside the header"


def match_headers(kind: RecordKind, columns: list[str], *, given: dict[str, str] | None = None,
                  optional: tuple[str, ...] = ()) -> HeaderMatch:
    """Match ``columns`` to ``kind``'s fields; raises :class:`InvalidRecord` when it cannot do so safely.

    ``given`` (header → field) comes first: a person's mapping beats every rule. Errors: a header that could be
    two fields (naming them), two columns read as one field, a required field no column gives (fields in
    ``optional`` may be absent: the caller supplies them).
    """
    vocab = vocabulary(kind)
    given = {normalise_header(k): v for k, v in (given or {}).items()}
    for target in given.values():
        if target not in vocab.names and target not in ("skip", "ignore"):
            raise InvalidRecord(f"the column mapping names an unknown field {target!r}; "
                                f"expected one of: {', '.join(vocab.names)} (or skip)")
    mapping: dict[str, str] = {}
    reasons: dict[str, str] = {}
    units: dict[str, str] = {}
    unread: list[str] = []
    problems: list[str] = []
    for col in columns:
        text = normalise_header(col)
        if not text or re.fullmatch(r"column_\d+", text):
            continue
        key, unit = _split_unit(text, vocab)
        if text in given or key in given:
            target = given.get(text, given.get(key))
            if target in ("skip", "ignore"):
                unread.append(col)
                continue
            found, how = [target], "the column mapping given"
        else:
            found, how = _candidates(_bare(key), vocab)
        if not found:
            unread.append(col)
            continue
        if len(found) > 1:
            problems.append(f"column {col!r} could be {' or '.join(vocab.describe(n) for n in found)}: "
                            "rename it, or say which in a column mapping (--columns)")
            continue
        name = found[0]
        if unit is not None:
            units[col] = unit
        mapping[col] = name
        reasons[col] = (f"{' '.join(str(col).split())} → {vocab.describe(name)}" + (f", in {unit}" if unit else "")
                        + ("" if how == "name" else f" ({how})"))
    taken: dict[str, list[str]] = {}
    for col, name in mapping.items():
        taken.setdefault(name, []).append(col)
    for name, cols in taken.items():
        if len(cols) > 1 and name not in OTHER_COLUMNS:
            problems.append(f"columns {', '.join(repr(c) for c in cols)} all read as {vocab.describe(name)}: "
                            "keep one, or say which in a column mapping (--columns)")
    for name, cols in taken.items():  # a second serial or remark column is harmless: keep the first
        for extra in cols[1:]:
            if name in OTHER_COLUMNS:
                del mapping[extra]
                unread.append(extra)
    found_fields = set(mapping.values())
    missing = [f for f in kind.fields if f.required and f.name not in found_fields and f.name not in optional]
    if missing:
        problems.append("required column(s) missing: " + "; ".join(
            f"{f.zh} ({f.name}; also read: {', '.join(_shown(f))})" for f in missing)
            + f". Columns found: {', '.join(map(str, columns))}")
    if problems:
        raise InvalidRecord(f"{kind.name}: " + " | ".join(problems))
    return HeaderMatch(mapping=mapping, reasons=reasons, units=units, unread=unread, kind=kind)


def _shown(f: Field, n: int = 4) -> list[str]:
    return [h for h in f.headers() if h not in (f.name, f.zh)][:n]


def header_score(kind: RecordKind, cells: list[str]) -> int:
    """How many ``cells`` read as distinct fields of ``kind``: finds the header row under a title."""
    return len({f for f in (_field_named(kind, c) for c in cells if c) if f is not None})


@functools.lru_cache(maxsize=4096)
def _field_named(kind: RecordKind, cell: str) -> str | None:
    """The field a cell names outright (by a name, or a name after a prefix), else None. Cached: the header
    search asks it of every cell of a sheet's first rows, and a township's sheets repeat the same cells."""
    vocab = vocabulary(kind)
    key = _bare(_split_unit(normalise_header(cell), vocab)[0])
    if not key:
        return None
    found, how = _candidates(key, vocab)
    if len(found) == 1 and how != "a name inside the header" and found[0] not in OTHER_COLUMNS:
        return found[0]
    return None


def load_mapping(path: str | Path) -> dict[str, str]:
    """A column mapping file (``columns: {header: field}``), checked; raises :class:`InvalidRecord`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRecord(f"{p.name}: cannot read the column mapping ({type(exc).__name__})") from None
    return parse_mapping(text, p.name)


def parse_mapping(text: str, source: str = "the column mapping") -> dict[str, str]:
    """A column mapping from its YAML text (a file's, or a form field's), checked."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRecord(f"{source}: not YAML ({str(exc).splitlines()[0]})") from None
    columns = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(columns, dict) or not columns or not all(
            isinstance(k, str | int) and isinstance(v, str) for k, v in columns.items()):
        raise InvalidRecord(f"{source}: a column mapping is 'columns:' followed by lines 'header: field' "
                            "(as the summary of a graded file prints it)")
    return {str(k): v for k, v in columns.items()}


def mapping_yaml(match: HeaderMatch) -> str:
    """The mapping a file was read with, in the format ``--columns`` reads (unread columns as ``skip``)."""
    lines = ["# creditscore column mapping: header as written in the file: field (skip: not read)", "columns:"]
    for col, name in match.mapping.items():
        lines.append(f"  {_quoted(col)}: {name}")
    for col in match.unread:
        lines.append(f"  {_quoted(col)}: skip")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return yaml.safe_dump(str(text), allow_unicode=True, default_style='"').strip().removesuffix("\n...")
