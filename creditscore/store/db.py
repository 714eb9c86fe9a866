"""The credit information store: connection, schema, and the two queries everything else needs.

SQLite (a file in the data folder) is the embedded default; PostgreSQL is used by
giving a ``postgresql+psycopg://`` URL. Both run the same Alembic migrations.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
from sqlalchemy import Date, Engine, String, create_engine, event, func, inspect, select, text, type_coerce
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from creditscore.errors import InvalidCode, UnknownSubject
from creditscore.records.contracts import KINDS, FieldType, RecordKind, SubjectType, get_kind
from creditscore.records.subjects import display_id, identify
from creditscore.store import migrate
from creditscore.store.tables import record_table

_SUBJECTS_PER_QUERY = 100  # subjects_rows: one OR'd LIKE per subject for objections; SQLite nests at most 1000
_IN_LIST_MAX = 20_000  # subjects per query: under SQLite's 32,766 bound parameters, and kind to PostgreSQL

__all__ = ["STORE_UNAVAILABLE", "Store", "store_unavailable"]

#: The errors that may mean the store is out of reach; :func:`store_unavailable` tells which really do.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, PoolTimeout)
#: SQLite reports a missing table or a syntax error as an OperationalError too: only these are "not now".
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database file",
                     "disk i/o error", "database or disk is full")


def store_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says "not now" rather than "never": the database down, restarting, out of connections,
    or (SQLite) locked past its timeout — the service answers 503 with Retry-After; anything else is a bug."""
    if not isinstance(exc, STORE_UNAVAILABLE):
        return False
    cause = getattr(exc, "orig", None)
    if type(cause).__module__ == "sqlite3":
        return any(text in str(cause).lower() for text in _SQLITE_TRANSIENT)
    return True


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (the service) are not blocked by an ingest
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: the natural-key index of a large table stays in memory
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA recursive_triggers=ON")  # REPLACE's implicit delete meets the audit log's delete trigger
    cur.close()


class Store:
    """Access to one credit information store.

    Parameters
    ----------
    url
        SQLAlchemy URL. For SQLite the parent folder is created.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error names the statement, never its values (records hold IDs and names)
        self.engine: Engine = create_engine(url, future=True, hide_parameters=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def from_settings(cls) -> Store:
        from creditscore.settings import get_settings

        return cls(get_settings().store_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @functools.cached_property
    def reader(self) -> Engine:
        """The engine for the service's hot reads (a key, a few subjects' records) and its audit appends.

        On PostgreSQL its own pool of connections that stay in autocommit: no BEGIN before a read and no
        ROLLBACK when the connection goes back to the pool — a round trip each, which cost more than the read
        itself — and no switching of the driver's mode at every checkout, as an ``isolation_level`` execution
        option on the main engine would do. A read of several statements that must agree opens its own
        transaction (:meth:`subjects_rows`). SQLite has no round trips to save: the same engine.
        """
        if self.dialect != "postgresql":
            return self.engine
        return create_engine(self.url, hide_parameters=True, isolation_level="AUTOCOMMIT")

    def writable(self, *, wait_ms: int = 200) -> bool:
        """Whether a write could start now: the store up, not read-only, not locked past ``wait_ms``.

        Readiness asks this, not a read: a locked SQLite file or a PostgreSQL replica answers reads while every
        grade (which writes its audit line) fails.
        """
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
                    try:
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                        conn.exec_driver_sql("ROLLBACK")
                    finally:
                        conn.exec_driver_sql("PRAGMA busy_timeout = 5000")
                    return True
                conn.execute(text(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'"))
                read_only = conn.execute(text("SELECT pg_is_in_recovery() OR "
                                              "current_setting('transaction_read_only') = 'on'")).scalar()
                return not read_only
        except Exception:
            return False

    def init(self) -> None:
        """Create or upgrade the schema (safe to run on every start)."""
        migrate.upgrade(self.engine)

    def is_initialised(self) -> bool:
        return inspect(self.engine).has_table("alembic_version")

    def counts(self) -> dict[str, int]:
        """Rows per record kind."""
        with self.engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(record_table(name))).scalar_one()
                    for name in KINDS}

    def latest_publication(self) -> dt.date | None:
        """The most recent publication date of any record: how current the store is."""
        latest = None
        with self.engine.connect() as conn:
            for name, kind in KINDS.items():
                if kind.has_published_on:
                    value = conn.execute(select(func.max(record_table(name).c.published_on))).scalar_one()
                    if value is not None:
                        value = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
                        latest = value if latest is None or value > latest else latest
        return latest

    def dispose(self) -> None:
        if "reader" in self.__dict__ and self.reader is not self.engine:
            self.reader.dispose()
        self.engine.dispose()

    # --- queries ---------------------------------------------------------------

    def records(
        self,
        kind: str | RecordKind,
        *,
        as_of: dt.date | None = None,
        subjects: list[str] | None = None,
    ) -> pd.DataFrame:
        """All records of ``kind`` that the platform knew on ``as_of`` (all of them if None).

        "Knew" means published on or before that date; for the subject tables
        (enterprises, households) it means registered or surveyed by then.
        """
        k = get_kind(kind) if isinstance(kind, str) else kind
        table = record_table(k)
        cols = [c for c in table.c if c.name not in ("id", "source", "ingested_at")]
        if self.dialect == "sqlite":
            # SQLite keeps dates as ISO text: fetch the text and parse it vectorised (in _typed) rather
            # than letting SQLAlchemy build a Python date per value — 5× faster on millions of rows.
            cols = [type_coerce(c, String()).label(c.name) if isinstance(c.type, Date) else c for c in cols]
        if subjects is not None and len(subjects) > _IN_LIST_MAX:
            # A batch file of 100,000 households: bounded IN lists (SQLite allows 32,766 parameters).
            parts = [self.records(k, as_of=as_of, subjects=subjects[i:i + _IN_LIST_MAX])
                     for i in range(0, len(subjects), _IN_LIST_MAX)]
            return pd.concat(parts, ignore_index=True)
        stmt = select(*cols)
        if as_of is not None:
            known = table.c.published_on if k.has_published_on else table.c[k.event_date or "id"]
            stmt = stmt.where(known <= as_of)
        if subjects is not None:
            stmt = stmt.where(table.c[k.subject_column].in_(subjects))
        names = [c.name for c in cols]
        compiled = stmt.compile(dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
        with self.engine.connect() as conn:
            # The driver's own cursor and tuples: SQLAlchemy's Row objects cost more than SQLite's work
            # on millions of rows (measured 3×). The statement is still built and compiled by SQLAlchemy.
            cursor = conn.connection.driver_connection.cursor()
            try:
                params = compiled.construct_params()
                if compiled.positiontup is not None:
                    params = tuple(params[name] for name in compiled.positiontup)
                cursor.execute(str(compiled), params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        columns = list(zip(*rows, strict=True)) or [() for _ in names]
        return _typed(k, pd.DataFrame(dict(zip(names, columns, strict=True))))

    def subject_rows(self, subject_id: str, *, as_of: dt.date | None = None,
                     kinds: set[str] | None = None) -> tuple[str, dict[str, tuple[list[str], list[tuple]]]]:
        """Every record of one subject as raw rows: (normalised id, kind → (column names, rows)).

        The fast path for grading one subject: no DataFrame. Objections against the subject's records come
        under ``objections``. Raises :class:`UnknownSubject` when the store holds nothing.
        """
        subject_id, subject_type = _identify(subject_id)
        known, out = self.subjects_rows([subject_id], subject_type, as_of=as_of, kinds=kinds)
        if not known:
            raise UnknownSubject(f"no {subject_type.value} with identifier {display_id(subject_id)} in the store")
        return subject_id, out

    def subjects_rows(self, subject_ids: list[str], subject_type: SubjectType, *, as_of: dt.date | None = None,
                      kinds: set[str] | None = None) -> tuple[set[str], dict[str, tuple[list[str], list[tuple]]]]:
        """The records of a few subjects of one type (normalised ids) as raw rows, and which ids the store knows.

        One connection and one indexed query per kind for all of them: the service grades the requests that
        arrive together in one pass (:mod:`api.batching`), so a kind costs one query, not one per request.
        """
        out: dict[str, tuple[list[str], list[tuple]]] = {}
        known: set[str] = set()
        wanted = list(dict.fromkeys(subject_ids))
        if not wanted:
            return known, out
        mark = "?" if self.dialect == "sqlite" else "%s"
        date = None if as_of is None else (as_of.isoformat() if self.dialect == "sqlite" else as_of)
        wildcard = "*" if self.dialect == "sqlite" else "%"  # ids hold no * ? [ % _ of their own
        queries: list[tuple[str, str, tuple]] = []  # (kind, SQL, parameters)
        for name, kind in KINDS.items():
            if (kinds is not None and name not in kinds) or (kind.subject not in (None, subject_type)):
                continue
            for start in range(0, len(wanted), _SUBJECTS_PER_QUERY):  # SQLite's expression depth ≤ 1000
                part = wanted[start:start + _SUBJECTS_PER_QUERY]
                keys = [f"{s}|{wildcard}" for s in part] if name == "objections" else part
                queries.append((name, _subject_sql(name, mark, as_of is not None, len(part))[0],
                                (*keys,) if date is None else (*keys, date)))
        with self.reader.connect() as conn:
            # Straight to the driver with SQL built once per kind and size: SQLAlchemy's statement building
            # cost more than SQLite's indexed lookups for the dozen small queries of one subject.
            results = _run_all(conn.connection.driver_connection, queries, pipelined=self.dialect != "sqlite")
        for name, rows in results:
            names = _subject_sql(name, mark, as_of is not None)[1]
            out.setdefault(name, (names, []))[1].extend(rows)
            if rows and name != "objections":
                at = names.index(KINDS[name].subject_column)
                known.update(r[at] for r in rows)
        return known, out

    def places(self) -> pd.DataFrame:
        """The geography the store knows from its household surveys: one row per (county, township, village)
        with codes and names — what a roster that names its villages but not their codes is resolved against."""
        table = record_table(KINDS["households"])
        cols = [table.c[n] for n in ("county_code", "county_name", "township_code", "township_name",
                                     "village_code", "village_name")]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).distinct()).all()
        return pd.DataFrame(rows, columns=[c.name for c in cols], dtype="string")

    def subject_records(self, subject_id: str, *, as_of: dt.date | None = None) -> dict[str, pd.DataFrame]:
        """Every record of one subject (enterprise by USCC, household by head's resident ID), by kind.

        Objections against the subject's records are included under ``objections``.
        Raises :class:`UnknownSubject` when the store holds nothing about it.
        """
        _, rows = self.subject_rows(subject_id, as_of=as_of)
        return {name: _typed(KINDS[name], pd.DataFrame(data, columns=names)) for name, (names, data) in rows.items()}


def _run_all(driver_connection, queries: list[tuple[str, str, tuple]], *,
             pipelined: bool) -> list[tuple[str, list[tuple]]]:
    """Each query's rows, in order.

    On PostgreSQL they go out as one message of several statements (:func:`run_together`): one round trip for
    every kind of a grade, inside one read-only repeatable-read transaction opened and closed in that same
    message, so every kind is read from the same snapshot even while an ingest commits.
    """
    if not pipelined:
        cursor = driver_connection.cursor()
        try:
            out = []
            for name, sql, params in queries:
                cursor.execute(sql, params)
                out.append((name, cursor.fetchall()))
            return out
        finally:
            cursor.close()
    results = run_together(driver_connection, [("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", ()),
                                               *((sql, params) for _, sql, params in queries), ("COMMIT", ())])
    return [(name, rows) for (name, _, _), rows in zip(queries, results[1:-1], strict=True)]


def run_together(driver_connection, statements: list[tuple[str, tuple]]) -> list[list[tuple] | None]:
    """PostgreSQL: several statements in one message and one round trip; each one's rows (None: no rows).

    Each statement is bound on the client (:func:`bind`) and they go out as one simple query. Measured against
    psycopg's pipeline mode for the dozen small SELECTs of a batch of grades (``benchmarks/api.py --postgres``):
    the same single round trip at a fraction of the client's CPU, since the pipeline drives every statement
    through its own Python protocol steps. Without an explicit BEGIN the statements run as one implicit
    transaction: a failure in any undoes them all.
    """
    cursor = psycopg.ClientCursor(driver_connection)
    try:
        cursor.execute("; ".join(bind(cursor, sql, params) for sql, params in statements))
        out: list[list[tuple] | None] = []
        while True:
            out.append(cursor.fetchall() if cursor.description is not None else None)
            if not cursor.nextset():
                return out
    finally:
        cursor.close()


def bind(cursor: psycopg.ClientCursor, sql: str, params: tuple) -> str:
    """``sql`` with its ``%s`` replaced by the values as literals (psycopg quotes them as the server reads them
    back). One statement at a time: psycopg caches the parse of a short statement, not of a long message."""
    return cursor.mogrify(sql, params) if params else sql


@functools.cache
def _subject_sql(name: str, mark: str, with_as_of: bool, n: int = 1) -> tuple[str, list[str]]:
    """SELECT of ``n`` subjects' records of a kind (and their column names), with driver placeholders."""
    kind = KINDS[name]
    table = record_table(kind)
    names = [c.name for c in table.c if c.name not in ("id", "source", "ingested_at")]
    if name == "objections":  # "<subject id>|…" by prefix, through ix_objections_target_key
        match = "GLOB" if mark == "?" else "LIKE"  # SQLite: GLOB is case-sensitive and can use a plain index
        where = "(" + " OR ".join([f"target_key {match} {mark}"] * n) + ")"
    elif n == 1:
        where = f"{kind.subject_column} = {mark}"
    else:
        where = f"{kind.subject_column} IN ({', '.join([mark] * n)})"
    if with_as_of:
        known = "published_on" if kind.has_published_on else (kind.event_date or "id")
        where += f" AND {known} <= {mark}"
    return f"SELECT {', '.join(names)} FROM {table.name} WHERE {where}", names


def _identify(subject_id: str) -> tuple[str, SubjectType]:
    try:
        subject = identify(subject_id)
    except InvalidCode as exc:
        raise InvalidCode(f"{display_id(subject_id)} is neither a valid resident ID nor a valid USCC: {exc}") \
            from None
    return subject.id, subject.segment.subject_type


def typed_frame(kind: RecordKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``kind`` from elsewhere (a warehouse's JSON or Parquet) typed as the store's queries type them;
    an empty frame gets every column."""
    if not len(frame.columns):
        frame = pd.DataFrame(columns=[*[f.name for f in kind.fields], "record_key"])
    return _typed(kind, frame)


def _as_datetimes(values: pd.Series) -> pd.Series:
    """A date column as datetime64[s]. Parquet's dates (Arrow ``date32``) are cast by Arrow: pandas converts them
    a Python object at a time, 0.8 s for the 680,000 surveys of 100,000 households against 0.01 s."""
    kind = values.dtype.pyarrow_dtype if isinstance(values.dtype, pd.ArrowDtype) else None
    if kind is not None and (pa.types.is_date(kind) or (pa.types.is_timestamp(kind) and kind.tz is None)):
        cast = pa.chunked_array(values.array._pa_array).cast(pa.timestamp("s"))
        return pd.Series(cast.to_numpy(), index=values.index, name=values.name).astype("datetime64[s]")
    parsed = pd.to_datetime(values, format="ISO8601")
    if getattr(parsed.dt, "tz", None) is not None:  # a zoned instant: the date where it was recorded, not in UTC
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype("datetime64[s]")


def _typed(kind: RecordKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Give query results the same dtypes the parser produces (dates as datetime64, nullable ints)."""
    for f in kind.fields:
        if f.name not in frame:
            continue
        if f.type in (FieldType.DATE, FieldType.MONTH):
            frame[f.name] = _as_datetimes(frame[f.name])
        elif f.type in (FieldType.MONEY, FieldType.INT, FieldType.YEAR):
            frame[f.name] = frame[f.name].astype("Int64")
        elif f.type is FieldType.DECIMAL:
            frame[f.name] = frame[f.name].astype("Float64")
        else:
            frame[f.name] = frame[f.name].astype("string")
    if "record_key" in frame:
        frame["record_key"] = frame["record_key"].astype("string")
    return frame
