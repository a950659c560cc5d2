"""The stores: the ingestion contract, its two backends, and the rule that picks one."""

from mlops_demo.core.store.backend import Backend, JsonlBackend, PostgresBackend, backend_for
from mlops_demo.core.store.jsonl import JsonlStore
from mlops_demo.core.store.postgres import PostgresStore, StoreUnavailable
from mlops_demo.core.store.protocol import IngestCounts, Store

__all__ = [
    "Backend",
    "IngestCounts",
    "JsonlBackend",
    "JsonlStore",
    "PostgresBackend",
    "PostgresStore",
    "Store",
    "StoreUnavailable",
    "backend_for",
]
