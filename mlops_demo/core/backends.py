"""The two backends, JSONL files or PostgreSQL, and the one rule that picks between them.

A backend hands out everything that lives in it: each stream's store, the prediction log and the
model registry's storage, and it says what a reset removes. `backend_for` is the only place that
decides which backend a store URL selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_demo.core.common.locations import MODELS_DIR, PREDICTIONS_FILE, store_folder
from mlops_demo.core.common.urls import redact_url
from mlops_demo.core.messages.streams import STREAMS, Stream
from mlops_demo.core.registry.storage import (
    FolderRegistryStorage,
    PostgresRegistryStorage,
    RegistryStorage,
)
from mlops_demo.core.storage.jsonl import DIGESTS_SUFFIX, JsonlStore
from mlops_demo.core.storage.postgres import PostgresStore
from mlops_demo.core.storage.predictions import (
    JsonlPredictionLog,
    PostgresPredictionLog,
    PredictionLog,
)
from mlops_demo.core.storage.protocol import Store
from mlops_demo.core.storage.udi_index import INDEX_SUFFIX


@dataclass(frozen=True)
class JsonlBackend:
    """The stores and the prediction log as JSONL files in `folder`; the registry in
    `models_dir`."""

    folder: Path
    models_dir: Path
    kind = "jsonl"

    def store(self, stream: Stream) -> Store:
        return JsonlStore(self.folder / stream.store_file, self.folder / stream.quarantine_file)

    def predictions(self) -> PredictionLog:
        return JsonlPredictionLog(self.folder / PREDICTIONS_FILE)

    def registry_storage(self) -> RegistryStorage:
        return FolderRegistryStorage(self.models_dir)

    def files(self) -> list[Path]:
        """Every file the stores and the log write, side files (index, digests, locks) included."""
        names = [PREDICTIONS_FILE]
        for stream in STREAMS:
            names += [
                stream.store_file,
                stream.store_file + INDEX_SUFFIX,
                stream.quarantine_file,
                stream.quarantine_file + DIGESTS_SUFFIX,
            ]
        return [self.folder / f for name in names for f in (name, f"{name}.lock")]

    def describe(self) -> str:
        return f"the JSONL files in {self.folder}"


@dataclass(frozen=True)
class PostgresBackend:
    """The stores, the prediction log and the registry in one schema of one database."""

    url: str
    schema: str
    kind = "postgres"

    def store(self, stream: Stream) -> Store:
        return PostgresStore(
            self.url,
            self.schema,
            table=Path(stream.store_file).stem,
            quarantine_table=Path(stream.quarantine_file).stem,
        )

    def predictions(self) -> PredictionLog:
        return PostgresPredictionLog(self.url, self.schema)

    def registry_storage(self) -> RegistryStorage:
        return PostgresRegistryStorage(self.url, self.schema)

    def files(self) -> list[Path]:
        return []

    def describe(self) -> str:
        return f"the PostgreSQL schema {self.schema} at {redact_url(self.url)}"

    def drop(self) -> None:
        """Drop the schema: every stream's tables, the prediction log and the registry."""
        self.store(STREAMS[0]).drop()


Backend = JsonlBackend | PostgresBackend


def backend_for(store_url: str, schema: str, data_dir: Path) -> Backend:
    """PostgreSQL for a postgresql:// URL; else JSONL in the folder the URL names (the data
    directory when it is empty), with the registry in the data directory's trained-models/."""
    folder = store_folder(store_url, data_dir)
    if folder is None:
        return PostgresBackend(store_url, schema)
    return JsonlBackend(folder, data_dir / MODELS_DIR)
