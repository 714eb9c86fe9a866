"""Runtime settings: one object, read from ``CREDITSCORE_*`` environment variables.

Defaults make a fresh checkout work with nothing configured: an embedded SQLite
store in a ``data/`` folder under the working directory.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Environment configuration (prefix ``CREDITSCORE_``)."""

    model_config = SettingsConfigDict(env_prefix="CREDITSCORE_", extra="ignore")

    data_dir: Path = Path("data")
    #: SQLAlchemy URL of the credit information store; default: SQLite in ``data_dir``.
    database_url: str | None = None
    #: Rows validated and written per step of an ingest (bounds memory on large files).
    ingest_chunk_rows: int = 100_000
    #: MLflow tracking and registry URI; default: SQLite in ``data_dir`` with local artifacts.
    mlflow_tracking_uri: str | None = None
    #: Where the service's models come from: "registry" (the @champion alias, falling back to the demo
    #: bundles until one is promoted), "demo" (the bundles shipped in models/demo), or a folder holding
    #: one bundle per segment (``<folder>/sme``, ``<folder>/household``).
    model_source: str = "registry"
    #: Threads grading requests at once in one service process. Grading is CPU-bound Python: measured with wrk,
    #: one thread gave the most throughput (2 threads: −40% at concurrency 8); scale with processes instead.
    grading_threads: int = 1
    #: Most store-backed grades answered in one batch (see ``api/batching.py``): requests that arrive while a
    #: batch is graded are graded together next; 1 grades every request on its own.
    grading_batch_max: int = Field(32, ge=1, le=1000)
    #: Grades that may wait in one worker; the next is refused at once with 503 and Retry-After (at ~12 ms a
    #: batch of 32, 512 waiting is ~0.2 s of work).
    grading_queue_max: int = Field(512, ge=1)
    #: Grade those batches in a thread rather than on the event loop: for a store across a network (PostgreSQL
    #: on another host), whose queries wait on I/O. For the embedded store the loop is faster (no GIL fight); for
    #: PostgreSQL on the same host neither wins throughout (README, "On PostgreSQL").
    grade_in_thread: bool = False
    #: Largest accepted upload for batch files, in bytes.
    max_upload_bytes: int = 50 * 1024 * 1024
    #: Most data rows a household file may hold (all sheets). A batch's memory grows with its rows (~2.5 GB at a
    #: million, measured): past this the file is refused before it is read.
    batch_max_rows: int = Field(1_100_000, ge=1)
    #: Days a finished batch's workbook and report are kept (they hold graded households; then deleted).
    batch_retention_days: int = 30
    #: Audit rows older than this many days are moved by ``creditscore audit archive`` into compressed, verifiable
    #: files (never deleted: query records are kept at least three years).
    audit_archive_days: int = Field(365, ge=1)

    @property
    def audit_archive_dir(self) -> Path:
        return self.data_dir / "audit-archive"

    def models_dir_for(self, source: str, segment: str) -> Path:
        return Path(source) / segment

    @cached_property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'creditscore.db').resolve()}"


def get_settings() -> Settings:
    """Settings as the environment says now (not cached: tests and the CLI change it)."""
    return Settings()
