"""The credit information store: tables, migrations, ingest and queries."""

from creditscore.store.db import STORE_UNAVAILABLE, Store, store_unavailable
from creditscore.store.ingest import IngestReport, ingest_file, insert_records

__all__ = ["STORE_UNAVAILABLE", "IngestReport", "Store", "ingest_file", "insert_records", "store_unavailable"]
