"""Where the model registry keeps its document (entries and deployment history) and its files
(models and model cards): a folder, trained-models/, or PostgreSQL, the same database as the
PostgreSQL store, so that any machine with the database URL can train, list, deploy and score.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from mlops_demo.core.common.durable import ensure_dir, locked, write_atomically
from mlops_demo.core.common.locations import REGISTRY_FILE
from mlops_demo.core.common.urls import redact_url


class RegistryStorage(Protocol):
    @property
    def where(self) -> str: ...

    def read_document(self) -> bytes | None:
        """The registry document, None before the first model."""

    def write_document(self, data: bytes) -> None: ...

    def write_file(self, name: str, data: bytes) -> None: ...

    def remove_file(self, name: str) -> None:
        """Remove a file if it is there."""

    def read_file(self, name: str) -> bytes:
        """A model's or a card's bytes; FileNotFoundError when there are none."""

    def locked(self) -> AbstractContextManager[None]:
        """One writer at a time, across processes and machines; what is written inside lands
        together."""


class FolderRegistryStorage:
    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / REGISTRY_FILE

    @property
    def where(self) -> str:
        return str(self.path)

    def read_document(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write_document(self, data: bytes) -> None:
        write_atomically(self.path, data)

    def write_file(self, name: str, data: bytes) -> None:
        ensure_dir(self.directory)
        write_atomically(self.directory / name, data)

    def remove_file(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def read_file(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()

    def locked(self) -> AbstractContextManager[None]:
        return locked(self.path)


class PostgresRegistryStorage:
    """Two tables in the store's schema: model_registry (one row, the document) and model_files
    (name, bytes). A transaction-scoped advisory lock serialises writers, and everything written
    under it commits at once: a model, its card and its entry, or none of them."""

    def __init__(self, url: str, schema: str):
        from psycopg2 import sql

        from mlops_demo.core.storage.postgres_connection import TablesOnce

        self.url = url
        self.schema = schema
        self._names = {
            "schema": sql.Identifier(schema),
            "registry": sql.Identifier(schema, "model_registry"),
            "files": sql.Identifier(schema, "model_files"),
        }
        self._sql = sql
        self._connection = None  # while locked: the transaction every statement joins
        self._create = TablesOnce(url, sql.SQL(
            "CREATE SCHEMA IF NOT EXISTS {schema};"
            "CREATE TABLE IF NOT EXISTS {registry} "
            "(id smallint PRIMARY KEY CHECK (id = 1), document bytea NOT NULL);"
            "CREATE TABLE IF NOT EXISTS {files} (name text PRIMARY KEY, data bytea NOT NULL, "
            "stored_at timestamptz NOT NULL DEFAULT now())"
        ).format(**self._names))  # fmt: skip

    @property
    def where(self) -> str:
        return f"{redact_url(self.url)} {self.schema}.model_registry"

    def _execute(self, statement: str, parameters: tuple) -> tuple | None:
        from mlops_demo.core.storage.postgres_connection import connect

        self._create()
        query = self._sql.SQL(statement).format(**self._names)
        if self._connection is not None:
            with self._connection.cursor() as cursor:
                cursor.execute(query, parameters)
                return cursor.fetchone() if cursor.description else None
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(query, parameters)
            row = cursor.fetchone() if cursor.description else None
            connection.commit()
            return row

    def read_document(self) -> bytes | None:
        row = self._execute("SELECT document FROM {registry} WHERE id = 1", ())
        return bytes(row[0]) if row else None

    def write_document(self, data: bytes) -> None:
        self._execute(
            "INSERT INTO {registry} (id, document) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document",
            (data,),
        )

    def write_file(self, name: str, data: bytes) -> None:
        self._execute(
            "INSERT INTO {files} (name, data) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data, stored_at = now()",
            (name, data),
        )

    def remove_file(self, name: str) -> None:
        self._execute("DELETE FROM {files} WHERE name = %s", (name,))

    def read_file(self, name: str) -> bytes:
        row = self._execute("SELECT data FROM {files} WHERE name = %s", (name,))
        if row is None:
            raise FileNotFoundError(name)
        return bytes(row[0])

    @contextmanager
    def locked(self) -> Iterator[None]:
        from mlops_demo.core.storage.postgres_connection import connect

        self._create()
        with connect(self.url) as connection:
            with connection.cursor() as cursor:
                key = f"{self.schema}.model_registry"
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
            self._connection = connection
            try:
                yield
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                self._connection = None
