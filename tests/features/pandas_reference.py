"""A second, independent implementation of the feature engine in plain pandas group-bys.

Kept as an oracle: tests check that the numpy engine (creditscore.features.engine)
gives identical indicators, and benchmarks/features.py times the two side by side.
It is not used by the product.

Original notes:

Rules, applied to every record kind before any indicator is computed:

1. **No leakage.** A record counts only if it was published and its event happened
   on or before the as-of date *t*; any later date inside a record (a resolution,
   a removal, a repair dated after *t*) is blanked, because at *t* it had not
   happened yet.
2. **Objections.** A record under objection at *t* is handled by the policy's
   rule (excluded by default); one whose objection was upheld by *t* is removed.
3. **Credit repair.** A negative record past its disclosure period, or repaired
   early, stops counting (periods from the policy, by kind and severity).

Then each indicator is one vectorised group-by over the prepared frames. The
same function serves one subject (from the store or inline records) and a
million: a subject's row is identical either way.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from creditscore.features.catalogue import Aggregation, Catalogue, Compute, Indicator
from creditscore.policy import PendingTreatment, Policy
from creditscore.records.contracts import KINDS, FieldType, RecordKind

__all__ = ["compute_features", "prepare_records"]

DAY = pd.Timedelta(days=1)


def _date_fields(kind: RecordKind) -> list[str]:
    return [f.name for f in kind.fields if f.type in (FieldType.DATE, FieldType.MONTH)]


def _event(kind: RecordKind, frame: pd.DataFrame) -> pd.Series:
    assert kind.event_date is not None
    if kind.get_field(kind.event_date).type is FieldType.YEAR:
        return pd.to_datetime(frame[kind.event_date].astype("string") + "-12-31", errors="coerce")
    return frame[kind.event_date]


def _objected(objections: pd.DataFrame | None, t: pd.Timestamp, policy: Policy) -> dict[str, set[str]]:
    """Record keys to leave out at *t*, by kind: upheld objections, and pending ones if the rule says so."""
    if objections is None or objections.empty:
        return {}
    o = objections[objections["filed_on"] <= t]
    resolved = o["resolved_on"].notna() & (o["resolved_on"] <= t) & (o["status"] != "pending")
    if policy.objections.pending is not PendingTreatment.EXCLUDE:
        return {}
    drop = ~resolved
    out: dict[str, set[str]] = {}
    for kind, keys in o.loc[drop, ["target_kind", "target_key"]].groupby("target_kind")["target_key"]:
        out[str(kind)] = set(keys)
    return out


def _expired(kind: RecordKind, frame: pd.DataFrame, t: pd.Timestamp, policy: Policy) -> np.ndarray:
    """Rows whose credit-repair expiry date is on or before *t*."""
    out = np.zeros(len(frame), dtype=bool)
    event = _event(kind, frame)
    for rule in policy.repair:
        if rule.kind != kind.name:
            continue
        applies = np.ones(len(frame), dtype=bool)
        if rule.severity is not None:
            applies = (frame["severity"] == rule.severity).fillna(False).to_numpy()
        start = event
        if rule.from_field:
            start = frame[rule.from_field].fillna(event) if rule.fallback_to_event else frame[rule.from_field]
        expiry = start + rule.disclose_days * DAY
        if rule.repaired_field:
            repaired = frame[rule.repaired_field]
            minimum = event + rule.repair_after_days * DAY
            early = repaired.where(repaired > minimum, minimum)
            expiry = expiry.where(repaired.isna() | (expiry <= early), early)
        out |= applies & (expiry <= t).fillna(False).to_numpy()
    return out


def prepare_records(records: dict[str, pd.DataFrame], t: pd.Timestamp, policy: Policy,
                    kinds: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Each kind's records as they stood at *t*: known, not objected to, not repaired."""
    dropped = _objected(records.get("objections"), t, policy)
    out: dict[str, pd.DataFrame] = {}
    for name in kinds:
        kind = KINDS[name]
        frame = records.get(name)
        if frame is None or frame.empty:
            out[name] = _empty(kind)
            continue
        known = (_event(kind, frame) <= t).fillna(False)
        if kind.has_published_on:
            known &= frame["published_on"] <= t
        frame = frame[known.to_numpy()]
        future = {}
        for col in _date_fields(kind):
            if col in frame and col not in (kind.event_date, "published_on"):
                future[col] = frame[col].where(frame[col] <= t)  # not yet happened at t
        if future:
            frame = frame.assign(**future)
        if name in dropped and "record_key" in frame:
            frame = frame[~frame["record_key"].isin(dropped[name]).to_numpy()]
        if not kind.is_subject_table:
            frame = frame[~_expired(kind, frame, t, policy)]
        out[name] = frame
    return out


def _empty(kind: RecordKind) -> pd.DataFrame:
    cols = {}
    for f in kind.fields:
        if f.type in (FieldType.DATE, FieldType.MONTH):
            cols[f.name] = pd.Series([], dtype="datetime64[s]")
        elif f.type in (FieldType.MONEY, FieldType.INT, FieldType.YEAR):
            cols[f.name] = pd.Series([], dtype="Int64")
        elif f.type is FieldType.DECIMAL:
            cols[f.name] = pd.Series([], dtype="Float64")
        else:
            cols[f.name] = pd.Series([], dtype="string")
    cols["record_key"] = pd.Series([], dtype="string")
    return pd.DataFrame(cols)


def _numeric(kind: RecordKind, frame: pd.DataFrame, field: str) -> pd.Series:
    """A field as float; money in yuan."""
    values = frame[field].astype("Float64").astype(float)
    return values / 100 if kind.get_field(field).type is FieldType.MONEY else values


def _dates(c: Compute, frame: pd.DataFrame) -> pd.Series:
    """The date placing each record in a window; a year (tax grades, taxes paid) reads as its 31 December."""
    name = c.date_field()
    if KINDS[c.source].get_field(name).type is FieldType.YEAR:
        return pd.to_datetime(frame[name].astype("string") + "-12-31", errors="coerce")
    return frame[name]


def _filtered(c: Compute, frame: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for name, values in c.where.items():
        mask &= frame[name].astype("string").isin(values).fillna(False).to_numpy()
    for name in c.empty:
        mask &= frame[name].isna().to_numpy()
    if c.window_days is not None:
        date = _dates(c, frame)
        mask &= ((date > t - c.window_days * DAY) & (date <= t)).fillna(False).to_numpy()
    return frame[mask]


def _subject_col(c: Compute) -> str:
    return KINDS[c.source].subject_column


def _ordered(c: Compute, frame: pd.DataFrame) -> pd.DataFrame:
    order = c.order or c.date_field()
    return frame.sort_values([_subject_col(c), order], kind="stable")


def _encode(c: Compute, values: pd.Series) -> pd.Series:
    if c.encode is None:
        return values.astype("Float64").astype(float)
    return values.astype("string").map(c.encode).astype(float)


def _indicator(ind: Indicator, frames: dict[str, pd.DataFrame], subjects: pd.Index, t: pd.Timestamp) -> pd.Series:
    c = ind.compute
    kind = KINDS[c.source]
    frame = frames[c.source]
    key = _subject_col(c)
    match c.kind:
        case Aggregation.COUNT:
            f = _filtered(c, frame, t)
            result = f.groupby(key).size().astype(float)
        case Aggregation.SUM:
            f = _filtered(c, frame, t)
            result = _numeric(kind, f, c.field).groupby(f[key]).sum()
        case Aggregation.MAX:
            f = _filtered(c, frame, t)
            result = _numeric(kind, f, c.field).groupby(f[key]).max()
        case Aggregation.DAYS_SINCE:
            f = _filtered(c, frame, t)
            result = ((t - _dates(c, f).groupby(f[key]).max()) / DAY).astype(float)
        case Aggregation.ACTIVE:
            f = _filtered(c, frame, t)
            on = (f[c.start] <= t) & (f[c.end].isna() | (f[c.end] > t))
            result = on.fillna(False).groupby(f[key]).any().astype(float)
        case Aggregation.LATEST:
            f = _ordered(c, _filtered(c, frame, t))
            last = f.groupby(key).tail(1).set_index(key)[c.field]
            result = _encode(c, last) if c.encode else _numeric(kind, f, c.field).groupby(f[key]).last()
        case Aggregation.TREND | Aggregation.GROWTH:
            f = _ordered(c, _filtered(c, frame, t))
            values = _encode(c, f[c.field]) if c.encode else _numeric(kind, f, c.field)
            values.index = f[key].to_numpy()
            g = values.groupby(level=0)
            latest, earlier = g.nth(-1), g.nth(-1 - c.lag)
            latest = latest.groupby(level=0).last()
            earlier = earlier.groupby(level=0).last().reindex(latest.index)
            growth = latest / earlier.where(earlier > 0) - 1
            result = latest - earlier if c.kind is Aggregation.TREND else growth
        case Aggregation.SHARE:
            f = _filtered(c.model_copy(update={"where": {}}), frame, t)
            hit = pd.Series(np.ones(len(f), dtype=bool), index=f.index)
            for name, values in c.where.items():
                hit &= f[name].astype("string").isin(values).fillna(False)
            weight = _numeric(kind, f, c.weight) if c.weight else pd.Series(1.0, index=f.index)
            total = weight.groupby(f[key]).sum()
            result = (weight * hit).groupby(f[key]).sum() / total.where(total > 0)
        case Aggregation.ATTRIBUTE:
            f = _ordered(c, frame).groupby(key).tail(1).set_index(key)
            result = _attribute(c, kind, f, t)
        case Aggregation.SURVEY:
            f = _ordered(c, frame).groupby(key).tail(1).set_index(key)
            numeric = {col: _numeric(kind, f, col) for col in f.columns
                       if kind.get_field(col).type in (FieldType.MONEY, FieldType.INT, FieldType.DECIMAL)}
            numeric["days_since_survey"] = (t - f[kind.event_date]) / DAY
            with np.errstate(divide="ignore", invalid="ignore"):
                result = pd.DataFrame(numeric, index=f.index).eval(c.expr, engine="python")
            result = result.replace([np.inf, -np.inf], np.nan)
        case Aggregation.MAX_ELAPSED:
            f = _filtered(c, frame, t)
            elapsed = ((t - _dates(c, f)) / DAY).to_numpy(dtype=float)
            known = np.minimum(_numeric(kind, f, c.field).to_numpy(), elapsed)
            result = pd.Series(known, index=f.index).groupby(f[key]).max()
        case _:  # pragma: no cover - the enum is exhaustive
            raise NotImplementedError(c.kind)
    result = result.reindex(subjects)
    return result.fillna(0.0) if c.fill_zero else result


def _attribute(c: Compute, kind: RecordKind, f: pd.DataFrame, t: pd.Timestamp) -> pd.Series:
    if c.transform == "age_years":
        return (t - f[c.field]) / DAY / 365.25
    if c.transform == "birth_age_years":
        ids = f.index.to_series().astype("string")
        born = ids.str.slice(6, 14).where(ids.str.len() == 18, "19" + ids.str.slice(6, 12))
        return (t - pd.to_datetime(born, format="%Y%m%d", errors="coerce")) / DAY / 365.25
    if c.encode is not None:
        return _encode(c, f[c.field])
    return _numeric(kind, f, c.field)


def compute_features(catalogue: Catalogue, records: dict[str, pd.DataFrame], as_of: object, policy: Policy,
                     subjects: Iterable[str] | None = None) -> pd.DataFrame:
    """Indicators as of ``as_of`` for ``subjects`` (default: every subject in the subject table).

    Parameters
    ----------
    records
        Typed record frames by kind, as :meth:`creditscore.store.Store.records` or
        :func:`creditscore.records.parsing.parse_records` return them; may hold records
        published after ``as_of`` (they are ignored) and objections.

    Returns
    -------
    DataFrame indexed by subject id, one column per indicator in catalogue order (float).
    """
    t = pd.Timestamp(as_of)
    subject_kind = "enterprises" if catalogue.subject.value == "enterprise" else "households"
    frames = prepare_records(records, t, policy, catalogue.sources() | {subject_kind})
    if subjects is None:
        index = pd.Index(pd.unique(frames[subject_kind][KINDS[subject_kind].subject_column]), name="subject_id")
    else:
        index = pd.Index(list(subjects), name="subject_id")
    columns = {ind.id: _indicator(ind, frames, index, t).to_numpy(dtype=float) for ind in catalogue.indicators}
    return pd.DataFrame(columns, index=index)
