"""The audit log as a hash chain: each row seals its content and the row before it, so no one rewrites it quietly.

The database refuses updates, deletions and replacements of ``audit_log`` rows (triggers on SQLite and
PostgreSQL), but whoever holds the database file or a superuser can still go around a trigger. The chain makes
that visible: row *n* stores ``row_hash = sha256(prev_hash ‖ canonical(row n))`` where ``prev_hash`` is row
*n − 1*'s ``row_hash``; :func:`verify` recomputes the chain and names the first row that was changed, removed or
inserted. Query records must be kept (征信业管理条例 art. 22; PIPL: at least three years), so old rows are never
deleted but **archived** (:func:`archive`): moved into a compressed JSON-lines file whose manifest carries the
chain's hashes at both ends, and the chain still verifies across the archive and the table.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import select, text

from creditscore.errors import CreditScoreError
from creditscore.store import Store
from creditscore.store.db import bind, run_together
from creditscore.store.tables import AUDIT_ARCHIVES, AUDIT_LOG

__all__ = ["GENESIS", "AuditTampered", "ChainReport", "append", "archive", "chained", "content_hash",
           "decode_decision", "encode_decision", "verify"]

#: The ``prev_hash`` of the first row ever written.
GENESIS = "0" * 64

#: The columns a row's hash covers, in order (the id too: renumbering a row breaks the chain).
SEALED = ("id", "at", "request_id", "key_prefix", "institution", "role", "route", "subject_type", "subject_masked",
          "purpose", "authorization_ref", "model_version", "policy_version", "result_grade", "status")


class AuditTampered(CreditScoreError):
    """The audit chain does not verify: a row was changed, removed or inserted outside the log's own writes."""


def encode_decision(record_json: str | None) -> bytes | None:
    """A decision record stored compactly: zlib over its JSON (about a third of the text)."""
    return None if record_json is None else zlib.compress(record_json.encode(), 6)


def decode_decision(blob: bytes | None, legacy: str | None = None) -> str | None:
    """The decision's JSON back (or the uncompressed text of rows written before compression)."""
    return zlib.decompress(blob).decode() if blob is not None else legacy


def _at(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite hands back naive datetimes: they were written in UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return str(value)


def content_hash(row: dict[str, object], prev_hash: str) -> str:
    """The hash that seals ``row`` after ``prev_hash``: its sealed columns and the digest of its decision."""
    sealed = [_at(row["at"]) if k == "at" else row.get(k) for k in SEALED]
    decision = row.get("decision_z") or (row.get("decision") or "").encode()
    payload = json.dumps([prev_hash, sealed, hashlib.sha256(decision).hexdigest()], ensure_ascii=False,
                         separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def chained(rows: list[dict[str, object]], prev_hash: str, first_id: int) -> list[dict[str, object]]:
    """``rows`` numbered from ``first_id`` and sealed one after the other, starting from ``prev_hash``."""
    out = []
    for i, given in enumerate(rows):
        row = {**given, "id": first_id + i, "prev_hash": prev_hash}
        row["row_hash"] = prev_hash = content_hash(row, prev_hash)
        out.append(row)
    return out


_PROCESS_LOCK = threading.Lock()


def _tail(conn) -> tuple[int, str]:
    """The last sealed row's id and hash: in the table, else at the end of the archives, else the genesis."""
    row = conn.execute(select(AUDIT_LOG.c.id, AUDIT_LOG.c.row_hash).order_by(AUDIT_LOG.c.id.desc()).limit(1)).first()
    if row is not None:
        return int(row[0]), str(row[1])
    row = conn.execute(select(AUDIT_ARCHIVES.c.last_id, AUDIT_ARCHIVES.c.last_hash)
                       .order_by(AUDIT_ARCHIVES.c.last_id.desc()).limit(1)).first()
    return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)


def append(store: Store, rows: list[dict[str, object]]) -> None:
    """Seal ``rows`` onto the end of the chain and insert them, in one transaction, one writer at a time.

    Two workers appending at once must not both build on the same last row: SQLite takes its write lock before
    reading the tail (``BEGIN IMMEDIATE``), PostgreSQL a transaction-scoped advisory lock. Returns once committed,
    so a caller that answers only afterwards never answers an unlogged query.
    """
    if not rows:
        return
    # In this process, wait on a lock rather than in SQLite's busy handler (it sleeps up to 100 ms at a time).
    with _PROCESS_LOCK:
        if store.dialect == "postgresql":
            _append_together(store, rows)
            return
        with store.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                last_id, last_hash = _tail(conn)
                conn.execute(AUDIT_LOG.insert(), chained(rows, last_hash, last_id + 1))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise


_COLUMNS = (*SEALED, "decision_z", "prev_hash", "row_hash")
_VALUES = f"({', '.join(['%s'] * len(_COLUMNS))})"
_TAIL = [("BEGIN", ()), ("SELECT pg_advisory_xact_lock(7262019)", ()),  # one number: the audit log's
         ("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1", ()),
         ("SELECT last_id, last_hash FROM audit_archives ORDER BY last_id DESC LIMIT 1", ())]


def _append_together(store: Store, rows: list[dict[str, object]]) -> None:
    """PostgreSQL: the append in two round trips, not five.

    Every other worker's audit write waits while this one holds the chain's lock, so the time it is held adds
    to the service's p99 at concurrency (``benchmarks/api.py --postgres``). Sent one at a time, the append costs
    BEGIN, lock, tail, INSERT and COMMIT, a round trip each, the last three under the lock. Here BEGIN, the
    lock and the tail go in one message, the INSERT and COMMIT in another: the lock is held for the hashing and
    one round trip.
    """
    with store.reader.connect() as conn:  # autocommit: the transaction is the explicit BEGIN … COMMIT
        pg = conn.connection.driver_connection
        try:
            _, _, in_table, in_archives = run_together(pg, _TAIL)
            tail = (in_table or in_archives or [None])[0]
            last_id, last_hash = (int(tail[0]), str(tail[1])) if tail is not None else (0, GENESIS)
            sealed = chained(rows, last_hash, last_id + 1)
            cursor = psycopg.ClientCursor(pg)
            values = ", ".join(bind(cursor, _VALUES, tuple(row.get(c) for c in _COLUMNS)) for row in sealed)
            cursor.close()
            run_together(pg, [(f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES {values}", ()),
                              ("COMMIT", ())])
        except BaseException:
            pg.rollback()  # whatever the BEGIN opened, and the lock with it (a no-op if nothing is open)
            raise


@dataclass
class ChainReport:
    """What :func:`verify` found: rows checked, archives checked, and the problems (empty: the chain holds)."""

    rows: int = 0
    archives: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check(rows, expected_prev: str, expected_id: int | None, where: str, report: ChainReport) -> tuple[str, int]:
    """Walk ``rows`` (dicts in id order); append what is wrong to ``report``; return the last hash and id."""
    prev, last_id = expected_prev, expected_id
    for row in rows:
        report.rows += 1
        rid = int(row["id"])
        if last_id is not None and rid != last_id + 1:
            report.problems.append(f"{where}: rows {last_id + 1}–{rid - 1} are missing (removed) before row {rid}"
                                   if rid > last_id + 1 else f"{where}: row {rid} is out of order after {last_id}")
        if row["prev_hash"] != prev:
            report.problems.append(f"{where}: row {rid} does not follow the row before it (a row was removed, "
                                   "inserted or replaced)")
        if content_hash(row, row["prev_hash"]) != row["row_hash"]:
            report.problems.append(f"{where}: row {rid} was changed after it was written")
        prev, last_id = row["row_hash"], rid
        if len(report.problems) >= 20:
            break
    return prev, last_id if last_id is not None else 0


def verify(store: Store, archive_dir: Path | None = None) -> ChainReport:
    """Recompute the chain over the archives (in order) and the table; name the first rows that do not hold."""
    report = ChainReport()
    prev, last_id = GENESIS, None
    with store.engine.connect() as conn:
        archives = conn.execute(select(AUDIT_ARCHIVES).order_by(AUDIT_ARCHIVES.c.first_id)).mappings().all()
    for entry in archives:
        report.archives += 1
        path = Path(entry["path"]) if archive_dir is None else archive_dir / Path(entry["path"]).name
        if not path.is_file():
            report.problems.append(f"archive {path.name} (rows {entry['first_id']}–{entry['last_id']}) is missing")
            prev, last_id = entry["last_hash"], entry["last_id"]
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["file_sha256"]:
            report.problems.append(f"archive {path.name} was changed after it was written")
        rows = [json.loads(line) for line in gzip.decompress(data).decode().splitlines() if line]
        for row in rows:
            if row.get("decision_z") is not None:
                row["decision_z"] = bytes.fromhex(row["decision_z"])
        prev, last_id = _check(rows, prev, last_id, f"archive {path.name}", report)
        if prev != entry["last_hash"]:
            report.problems.append(f"archive {path.name}: its last row does not match the manifest")
    with store.engine.connect() as conn:
        rows = conn.execute(select(AUDIT_LOG).order_by(AUDIT_LOG.c.id)).mappings()
        _check((dict(r) for r in rows), prev, last_id, "audit_log", report)
    return report


def archive(store: Store, folder: Path, *, older_than: dt.timedelta, now: dt.datetime | None = None) -> Path | None:
    """Move the rows older than ``older_than`` into ``folder/audit-<first>-<last>.jsonl.gz``; None if none.

    The file is written and synced first, then its manifest row and the deletion commit together: a crash
    leaves either the rows in the table or the rows in a file its manifest names, never neither.
    """
    cutoff = (now or dt.datetime.now(dt.UTC)) - older_than
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.at < cutoff)
                                              .order_by(AUDIT_LOG.c.id)).mappings()]
    if not rows:
        return None
    first, last = rows[0]["id"], rows[-1]["id"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-{first:012d}-{last:012d}.jsonl.gz"
    lines = []
    for stored in rows:
        row = {**stored, "at": _at(stored["at"])}
        if row.get("decision_z") is not None:
            row["decision_z"] = row["decision_z"].hex()
        lines.append(json.dumps(row, ensure_ascii=False, default=str))
    data = gzip.compress(("\n".join(lines) + "\n").encode(), 9)
    tmp = path.with_suffix(".partial")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    with store.engine.begin() as conn:
        conn.execute(AUDIT_ARCHIVES.insert().values(
            first_id=first, last_id=last, first_prev_hash=rows[0]["prev_hash"], last_hash=rows[-1]["row_hash"],
            rows=len(rows), path=str(path), file_sha256=hashlib.sha256(data).hexdigest(),
            archived_at=dt.datetime.now(dt.UTC)))
        conn.execute(text("DELETE FROM audit_log WHERE id BETWEEN :a AND :b"), {"a": first, "b": last})
    return path
