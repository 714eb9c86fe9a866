"""The point-in-time feature engine: records → one row of indicators per subject, as of a date.

Rules, applied to every record kind before any indicator is computed:

1. **No leakage.** A record counts only if it was published and its event happened
   on or before the as-of date *t*; any later date inside a record (a resolution,
   a removal, a repair dated after *t*) is blanked, because at *t* it had not
   happened yet.
2. **Objections.** A record under objection at *t* is handled by the policy's
   rule (excluded by default). Once the objection is answered the record counts
   again as it then stands: an upheld objection has corrected or deleted it in
   the store (see :mod:`creditscore.service.objections`), a rejected one left it as it was.
3. **Credit repair.** A negative record past its disclosure period, or repaired
   early, stops counting (periods from the policy, by kind and severity).

Each indicator is then one grouped reduction in numpy (``bincount``, ``fmax.at``,
a ``lexsort`` for "latest"), over the columns of :mod:`creditscore.features.columns`.
The same code serves one subject and a million — a subject's row is identical
either way — and costs microseconds, not pandas' milliseconds, for one subject.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Iterable

import numpy as np
import pandas as pd

from creditscore.features.catalogue import Aggregation, Catalogue, Compute, Indicator
from creditscore.features.columns import Columns, day_number, empty_columns, from_frame, length, take
from creditscore.policy import PendingTreatment, Policy
from creditscore.records.contracts import KINDS, FieldType, RecordKind

__all__ = ["compute_features", "prepare_records"]

Records = dict[str, "pd.DataFrame | Columns"]


def _year_end_days(years: np.ndarray) -> np.ndarray:
    out = np.full(len(years), np.nan)
    ok = ~np.isnan(years)
    ends = (years[ok].astype("int64") + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    out[ok] = ends.astype("int64") - 1.0
    return out


def _date_of(kind: RecordKind, cols: Columns, name: str) -> np.ndarray:
    """A date field as day numbers; a year field reads as its 31 December."""
    if kind.get_field(name).type is FieldType.YEAR:
        return _year_end_days(cols[name])
    return cols[name]


def _eq_any(values: np.ndarray, wanted: Iterable[str]) -> np.ndarray:
    mask = np.zeros(len(values), dtype=bool)
    for w in wanted:
        mask |= values == w
    return mask


def _objected(objections: Columns | None, t: float, policy: Policy) -> dict[str, set[str]]:
    """Record keys under objection at *t*, by kind, when the policy leaves such records out."""
    if objections is None or length(objections) == 0 or policy.objections.pending is not PendingTreatment.EXCLUDE:
        return {}
    filed = objections["filed_on"] <= t
    resolved = (objections["resolved_on"] <= t) & (objections["status"] != "pending")
    drop = filed & ~resolved
    out: dict[str, set[str]] = {}
    for kind, key in zip(objections["target_kind"][drop], objections["target_key"][drop], strict=True):
        out.setdefault(str(kind), set()).add(str(key))
    return out


def record_expiry(kind: RecordKind, cols: Columns, policy: Policy) -> np.ndarray:
    """The day number on which each record stops counting under the policy's credit-repair rules (NaN: no rule
    ends it — it counts while it is in its indicators' windows, or the behaviour has not ended).

    One function for the features (a record expired at *t* is left out) and for the credit report, which
    prints the date: the two can never disagree.
    """
    n = length(cols)
    out = np.full(n, np.nan)
    event = _date_of(kind, cols, kind.event_date or "published_on")
    for rule in policy.repair:
        if rule.kind != kind.name:
            continue
        applies = _eq_any(cols["severity"], [rule.severity]) if rule.severity else np.ones(n, dtype=bool)
        start = event
        if rule.from_field:
            start = cols[rule.from_field]
            if rule.fallback_to_event:
                start = np.where(np.isnan(start), event, start)
        expiry = start + rule.disclose_days
        if rule.repaired_field:
            repaired = cols[rule.repaired_field]
            early = np.fmax(repaired, event + rule.repair_after_days)  # NaN repaired → the minimum…
            early = np.where(np.isnan(repaired), np.nan, early)  # …but only when a repair happened
            expiry = np.fmin(expiry, early)
        out = np.where(applies, np.fmin(out, expiry), out)
    return out


def _expired(kind: RecordKind, cols: Columns, t: float, policy: Policy) -> np.ndarray:
    """Records whose credit-repair expiry is on or before *t* (see :class:`creditscore.policy.RepairRule`)."""
    return record_expiry(kind, cols, policy) <= t


def prepare_records(records: Records, t: float, policy: Policy, kinds: Iterable[str]) -> dict[str, Columns]:
    """Each kind's records as they stood at day *t*: known, not objected to, not repaired."""
    objections = records.get("objections")
    if isinstance(objections, pd.DataFrame):
        objections = from_frame(KINDS["objections"], objections)
    dropped = _objected(objections, t, policy)
    out: dict[str, Columns] = {}
    for name in kinds:
        kind = KINDS[name]
        raw = records.get(name)
        if raw is None:
            out[name] = empty_columns(kind)
            continue
        cols = from_frame(kind, raw) if isinstance(raw, pd.DataFrame) else raw
        if length(cols) == 0:  # most kinds are empty for one subject: nothing to filter
            out[name] = cols
            continue
        known = _date_of(kind, cols, kind.event_date or "published_on") <= t
        if kind.has_published_on:
            known &= cols["published_on"] <= t
        if name in dropped:
            known &= ~np.isin(cols["record_key"].astype(str), list(dropped[name]))
        cols = take(cols, known)
        for f in kind.fields:
            if f.type in (FieldType.DATE, FieldType.MONTH) and f.name not in (kind.event_date, "published_on"):
                cols[f.name] = np.where(cols[f.name] <= t, cols[f.name], np.nan)  # not yet happened at t
        if not kind.is_subject_table:
            cols = take(cols, ~_expired(kind, cols, t, policy))
        out[name] = cols
    return out


# --- grouped reductions ---------------------------------------------------------------------------


def _last_index(codes: np.ndarray, order: np.ndarray, mask: np.ndarray, n: int, lag: int = 0) -> np.ndarray:
    """Per subject, the row of the (latest − lag)-th record by ``order`` among ``mask``; −1 if none."""
    idx = np.flatnonzero(mask)
    out = np.full(n, -1)
    if len(idx) == 0:
        return out
    sorted_idx = idx[np.lexsort((order[idx], codes[idx]))]
    sc = codes[sorted_idx]
    change = np.flatnonzero(sc[1:] != sc[:-1])
    ends = np.r_[change, len(sc) - 1]
    starts = np.r_[0, change + 1]
    pos = ends - lag
    ok = pos >= starts
    out[sc[ends[ok]]] = sorted_idx[pos[ok]]
    return out


def _gather(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.full(len(rows), np.nan)
    ok = rows >= 0
    out[ok] = values[rows[ok]]
    return out


def _encoded(c: Compute, values: np.ndarray) -> np.ndarray:
    if c.encode is None:
        return values.astype(float)
    table = c.encode
    return np.array([table.get(v, np.nan) if v is not None else np.nan for v in values], dtype=float)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expr: str, names: dict[str, np.ndarray]) -> np.ndarray:
    """Arithmetic over named columns (+ − × ÷, parentheses, numbers) — no other Python is run."""

    def walk(node: ast.AST) -> np.ndarray | float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        raise ValueError(f"expression {expr!r}: {ast.dump(node)} is not allowed (use fields, numbers, + - * /)")

    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(walk(ast.parse(expr, mode="eval")), dtype=float)
    return np.where(np.isfinite(result), result, np.nan)


def _numeric(kind: RecordKind, cols: Columns, name: str) -> np.ndarray:
    values = cols[name]
    return values / 100 if kind.get_field(name).type is FieldType.MONEY else values


def _window_mask(c: Compute, kind: RecordKind, cols: Columns, t: float, *, memo: dict, with_where: bool = True
                 ) -> np.ndarray:
    """Records in ``c``'s window and filters — shared by the indicators of one call that ask the same (read-only)."""
    where = tuple(sorted((k, tuple(v)) for k, v in c.where.items())) if with_where else ()
    key = ("mask", c.source, where, tuple(c.empty), c.window_days, c.date_field() if c.window_days else None)
    if key in memo:
        return memo[key]
    mask = cols["_code"] >= 0
    for name, values in where:
        column = cols[name]
        if kind.get_field(name).type in (FieldType.MONEY, FieldType.INT, FieldType.YEAR, FieldType.DECIMAL):
            mask &= np.isin(column, [float(v) for v in values])
        else:
            mask &= _eq_any(column, values)
    for name in c.empty:
        column = cols[name]
        mask &= np.isnan(column) if column.dtype == float else np.equal(column, None)
    if c.window_days is not None:
        date = _shared_date(kind, cols, c.date_field(), memo)
        mask &= (date > t - c.window_days) & (date <= t)
    memo[key] = mask
    return mask


def _shared_date(kind: RecordKind, cols: Columns, name: str, memo: dict) -> np.ndarray:
    key = ("date", kind.name, name)
    if key not in memo:
        memo[key] = _date_of(kind, cols, name)
    return memo[key]


def _shared_last(kind: RecordKind, cols: Columns, order_field: str, mask: np.ndarray, n: int, *,
                 memo: dict, lag: int = 0) -> np.ndarray:
    """:func:`_last_index`, once per (mask, order, lag): the latest tax grade serves five indicators."""
    key = ("last", id(mask), order_field, lag)
    if key not in memo:
        memo[key] = _last_index(cols["_code"], _shared_date(kind, cols, order_field, memo), mask, n, lag=lag)
    return memo[key]


def _indicator(ind: Indicator, frames: dict[str, Columns], n: int, t: float, memo: dict) -> np.ndarray:
    """One indicator for every subject. ``memo`` holds what the indicators of one call share (masks, dates,
    latest rows): computed once, read only."""
    c = ind.compute
    kind = KINDS[c.source]
    cols = frames[c.source]
    codes = cols["_code"]
    match c.kind:
        case Aggregation.COUNT:
            m = _window_mask(c, kind, cols, t, memo=memo)
            result = np.bincount(codes[m], minlength=n).astype(float)
        case Aggregation.SUM:
            m = _window_mask(c, kind, cols, t, memo=memo)
            result = np.bincount(codes[m], weights=np.nan_to_num(_numeric(kind, cols, c.field)[m]), minlength=n)
        case Aggregation.MAX | Aggregation.MAX_ELAPSED | Aggregation.DAYS_SINCE:
            m = _window_mask(c, kind, cols, t, memo=memo)
            if c.kind is Aggregation.DAYS_SINCE:
                values = _shared_date(kind, cols, c.date_field(), memo)
            else:
                values = _numeric(kind, cols, c.field)
                if c.kind is Aggregation.MAX_ELAPSED:
                    values = np.fmin(values, t - _shared_date(kind, cols, c.date_field(), memo))
            result = np.full(n, np.nan)
            np.fmax.at(result, codes[m], values[m])
            if c.kind is Aggregation.DAYS_SINCE:
                result = t - result
        case Aggregation.ACTIVE:
            m = _window_mask(c, kind, cols, t, memo=memo)
            on = m & (cols[c.start] <= t) & ~(cols[c.end] <= t)
            result = (np.bincount(codes[on], minlength=n) > 0).astype(float)
        case Aggregation.LATEST | Aggregation.TREND | Aggregation.GROWTH | Aggregation.ATTRIBUTE:
            m = _window_mask(c, kind, cols, t, memo=memo)
            order = c.order or c.date_field()
            last = _shared_last(kind, cols, order, m, n, memo=memo)
            if c.kind is Aggregation.ATTRIBUTE:
                result = _attribute(c, kind, cols, last, t)
            else:
                values = _encoded(c, cols[c.field]) if c.encode else _numeric(kind, cols, c.field)
                result = _gather(values, last)
                if c.kind is not Aggregation.LATEST:
                    earlier = _gather(values, _shared_last(kind, cols, order, m, n, memo=memo, lag=c.lag))
                    if c.kind is Aggregation.TREND:
                        result = result - earlier
                    else:
                        with np.errstate(divide="ignore", invalid="ignore"):
                            result = np.where(earlier > 0, result / earlier - 1, np.nan)
        case Aggregation.SHARE:
            m = _window_mask(c, kind, cols, t, memo=memo, with_where=False)
            hit = _window_mask(c, kind, cols, t, memo=memo) & m
            weight = np.nan_to_num(_numeric(kind, cols, c.weight)) if c.weight else np.ones(length(cols))
            total = np.bincount(codes[m], weights=weight[m], minlength=n)
            part = np.bincount(codes[hit], weights=weight[hit], minlength=n)
            with np.errstate(divide="ignore", invalid="ignore"):
                result = np.where(total > 0, part / total, np.nan)
        case Aggregation.SURVEY:
            m = _window_mask(c, kind, cols, t, memo=memo)
            last = _shared_last(kind, cols, kind.event_date, m, n, memo=memo)
            names = {f.name: _gather(_numeric(kind, cols, f.name), last) for f in kind.fields
                     if f.type in (FieldType.MONEY, FieldType.INT, FieldType.DECIMAL)}
            names["days_since_survey"] = t - _gather(cols[kind.event_date], last)
            result = _evaluate(c.expr, names)
        case _:  # pragma: no cover - the enum is exhaustive
            raise NotImplementedError(c.kind)
    if c.fill_zero:
        result = np.where(np.isnan(result), 0.0, result)
    return result


def _attribute(c: Compute, kind: RecordKind, cols: Columns, last: np.ndarray, t: float) -> np.ndarray:
    if c.transform == "age_years":
        return (t - _gather(cols[c.field], last)) / 365.25
    if c.transform == "birth_age_years":
        ids = np.where(last >= 0, cols[c.field][np.maximum(last, 0)], None)
        return (t - _birth_days(ids)) / 365.25
    if c.encode is not None:
        return _gather(_encoded(c, cols[c.field]), last)
    return _gather(_numeric(kind, cols, c.field), last)


def _birth_days(ids: np.ndarray) -> np.ndarray:
    """Birth day numbers from resident IDs: one by one for a few subjects, vectorised for a batch."""
    if len(ids) < 64:
        return np.array([_birth_day(v) for v in ids], dtype=float)
    text = pd.Series(ids, dtype="string").fillna("")
    digits = text.str.slice(6, 14).where(text.str.len() == 18, "19" + text.str.slice(6, 12))
    born = pd.to_datetime(digits, format="%Y%m%d", errors="coerce")
    return ((born - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)


def _birth_day(number: str | None) -> float:
    if not number:
        return np.nan
    digits = number[6:14] if len(number) == 18 else "19" + number[6:12]
    try:
        return day_number(f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}")
    except ValueError:
        return np.nan


def _codes(index: pd.Index, subject_ids: np.ndarray) -> np.ndarray:
    """Each record's subject position in ``index`` (−1: not asked for)."""
    if len(subject_ids) == 0:
        return np.empty(0, dtype=np.intp)
    if len(index) <= 4:  # one subject (the service): comparisons beat building a hash table
        codes = np.full(len(subject_ids), -1, dtype=np.intp)
        for position, subject in enumerate(index):
            codes[subject_ids == subject] = position
        return codes
    if len(subject_ids) < 5_000:  # the service's batch of requests: a dict beats pandas' index set-up
        position = {subject: i for i, subject in enumerate(index)}
        return np.fromiter((position.get(str(s), -1) for s in subject_ids), dtype=np.intp, count=len(subject_ids))
    return index.get_indexer(subject_ids.astype(str))


def compute_features(catalogue: Catalogue, records: Records, as_of: object, policy: Policy,
                     subjects: Iterable[str] | None = None) -> pd.DataFrame:
    """Indicators as of ``as_of`` for ``subjects`` (default: every subject in the subject table).

    Parameters
    ----------
    records
        Records by kind, as typed frames (:meth:`creditscore.store.Store.records`,
        :func:`creditscore.records.parsing.parse_records`) or columns
        (:mod:`creditscore.features.columns`); may include records published after
        ``as_of`` (they are ignored) and objections.

    Returns
    -------
    DataFrame indexed by subject id, one float column per indicator, in catalogue order.
    """
    t = day_number(as_of)
    subject_kind = catalogue.segment.subject_kind
    frames = prepare_records(records, t, policy, catalogue.sources() | {subject_kind})
    if subjects is None:
        ids = frames[subject_kind][KINDS[subject_kind].subject_column]
        index = pd.Index(pd.unique(ids.astype(str)), name="subject_id", dtype=object)
    else:
        index = pd.Index([str(s) for s in subjects], name="subject_id", dtype=object)
    for name, cols in frames.items():
        cols["_code"] = _codes(index, cols[KINDS[name].subject_column])
    n = len(index)
    memo: dict = {}
    matrix = np.column_stack([_indicator(ind, frames, n, t, memo) for ind in catalogue.indicators]) if n else \
        np.empty((0, len(catalogue.indicators)))
    # Labels as Python strings (object dtype), not pandas 3's Arrow-backed strings: reading them back —
    # ``get_loc``, iterating the columns — costs several times less, and the service does it per request.
    return pd.DataFrame(matrix, index=index, columns=pd.Index(catalogue.ids, dtype=object))
