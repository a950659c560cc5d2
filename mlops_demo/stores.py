"""Which store a setting selects: the JSONL files, or PostgreSQL for a postgresql:// URL."""

from pathlib import Path

from mlops_demo.pg_store import PostgresStore
from mlops_demo.settings import Settings
from mlops_demo.store import JsonlStore
from mlops_demo.streams import Stream


def open_store(stream: Stream, data_dir: Path, settings: Settings) -> JsonlStore | PostgresStore:
    if settings.store_is_postgres:
        return PostgresStore(
            settings.store_url,
            settings.store_schema,
            table=Path(stream.store_file).stem,
            quarantine_table=Path(stream.quarantine_file).stem,
        )
    folder = Path(settings.store_url) if settings.store_url else data_dir
    return JsonlStore(folder / stream.store_file, folder / stream.quarantine_file)
