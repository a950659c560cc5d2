"""The stores: the ingestion contract, and which backend a setting selects.

`MLOPS_STORE_URL` unset keeps the JSONL files in the data directory, a folder puts them there,
and a postgresql:// URL selects the PostgreSQL store.
"""

from pathlib import Path

from mlops_demo.core.settings import Settings, is_postgres_url
from mlops_demo.core.store.jsonl import JsonlStore
from mlops_demo.core.store.postgres import PostgresStore, StoreUnavailable
from mlops_demo.core.store.protocol import IngestCounts, Store
from mlops_demo.core.streams import Stream

__all__ = ["IngestCounts", "JsonlStore", "PostgresStore", "Store", "StoreUnavailable", "open_store"]


def open_store(stream: Stream, settings: Settings) -> Store:
    """The stream's store: PostgreSQL for a postgresql:// URL, else JSONL in that folder or the
    data directory."""
    url = settings.store_url
    if url and is_postgres_url(url):
        return PostgresStore(
            url,
            settings.store_schema,
            table=Path(stream.store_file).stem,
            quarantine_table=Path(stream.quarantine_file).stem,
        )
    folder = Path(url) if url else settings.data_dir
    return JsonlStore(folder / stream.store_file, folder / stream.quarantine_file)
