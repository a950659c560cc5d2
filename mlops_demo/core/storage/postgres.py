"""The store on PostgreSQL: the JSONL store's interface, with the UDI as the table's key.

Idempotency is the database's job (INSERT ... ON CONFLICT DO NOTHING), and a landed batch is
removed only after its transaction commits, so any number of consumers, on any number of
machines, may ingest one queue at once and each record is stored once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from psycopg2 import sql

from mlops_demo.core.common.durable import locked
from mlops_demo.core.common.urls import redact_url
from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.storage.postgres_connection import TablesOnce, connect
from mlops_demo.core.storage.protocol import (
    Clean,
    IngestCounts,
    LandsChunks,
    MissingValues,
    Store,
    conflict_reason,
    difference_of_udis,
    quarantine_entry,
    sort_bodies,
)

if TYPE_CHECKING:
    import pandas as pd


class PostgresStore(LandsChunks):
    def __init__(self, url: str, schema: str, table: str, quarantine_table: str):
        self.url = url
        self.schema = schema
        self.table = table
        self.quarantine_table = quarantine_table
        self._tables = TablesOnce(
            url,
            sql.SQL(
                "CREATE SCHEMA IF NOT EXISTS {schema};"
                "CREATE TABLE IF NOT EXISTS {records} "
                "(udi bigint PRIMARY KEY, record text NOT NULL);"
                "CREATE TABLE IF NOT EXISTS {quarantine} (body_sha256 text PRIMARY KEY, "
                "entry text NOT NULL)"
            ).format(**self._names()),
        )

    @property
    def location(self) -> str:
        return f"{redact_url(self.url)} {self.schema}.{self.table}"

    def _names(self) -> dict[str, sql.Composable]:
        return {
            "schema": sql.Identifier(self.schema),
            "records": sql.Identifier(self.schema, self.table),
            "quarantine": sql.Identifier(self.schema, self.quarantine_table),
        }

    def create(self) -> None:
        """Create the schema and tables if they do not exist yet (once per store object)."""
        self._tables()

    def row_count(self) -> int:
        self.create()
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT count(*) FROM {records}").format(**self._names()))
            return cursor.fetchone()[0]

    def read_frame(self, columns: tuple[str, ...]) -> pd.DataFrame:
        import pandas as pd

        self.create()
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT record FROM {records} ORDER BY udi").format(**self._names())
            )
            rows = [json.loads(record) for (record,) in cursor]
        return pd.DataFrame.from_records(rows, columns=list(columns))

    def read_range(
        self,
        columns: tuple[str, ...],
        first_udi: int | None = None,
        last_udi: int | None = None,
        newest: int | None = None,
    ) -> pd.DataFrame:
        import pandas as pd

        self.create()
        query = sql.SQL(
            "SELECT record FROM (SELECT udi, record FROM {records} "
            "WHERE udi >= %(first)s AND udi <= %(last)s ORDER BY udi DESC LIMIT %(newest)s) AS r "
            "ORDER BY udi"
        ).format(**self._names())
        bounds = {
            "first": first_udi if first_udi is not None else -(2**63),
            "last": last_udi if last_udi is not None else 2**63 - 1,
            "newest": newest,  # NULL: no limit
        }
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(query, bounds)
            rows = [json.loads(record) for (record,) in cursor]
        return pd.DataFrame.from_records(rows, columns=list(columns))

    def udis(self) -> np.ndarray:
        self.create()
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT udi FROM {records} ORDER BY udi").format(**self._names())
            )
            return np.array([udi for (udi,) in cursor], dtype=np.int64)

    def udis_not_in(self, other: Store) -> np.ndarray:
        if not (isinstance(other, PostgresStore) and other.url == self.url):
            return difference_of_udis(self, other)
        self.create()
        other.create()
        # In the database: a million UDIs from each table would cross the wire for 500.
        query = sql.SQL(
            "SELECT udi FROM {records} AS r "
            "WHERE NOT EXISTS (SELECT 1 FROM {other} AS o WHERE o.udi = r.udi) ORDER BY udi"
        ).format(other=other._names()["records"], **self._names())
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(query)
            return np.array([udi for (udi,) in cursor], dtype=np.int64)

    def read_udis(self, columns: tuple[str, ...], udis: np.ndarray) -> pd.DataFrame:
        import pandas as pd

        self.create()
        query = sql.SQL("SELECT record FROM {records} WHERE udi = ANY(%s) ORDER BY udi")
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(query.format(**self._names()), ([int(u) for u in udis],))
            rows = [json.loads(record) for (record,) in cursor]
        return pd.DataFrame.from_records(rows, columns=list(columns))

    def count_missing(self, fields: tuple[str, ...], skip: int = 0) -> MissingValues:
        self.create()
        # ->> gives NULL for a missing key and for JSON null alike.
        counts = sql.SQL(", ").join(
            sql.SQL("count(*) FILTER (WHERE coalesce(r ->> {}, '') = '')").format(
                sql.Literal(field)
            )
            for field in fields
        )
        query = sql.SQL(
            "SELECT count(*), {counts} FROM (SELECT record::jsonb AS r FROM {records}) AS s"
        ).format(counts=counts, **self._names())
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(query)
            rows, *missing = cursor.fetchone()
        return MissingValues(
            rows=rows, checked=rows, missing=dict(zip(fields, missing, strict=True))
        )

    def quarantined(self) -> list[dict]:
        self.create()
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT entry FROM {quarantine}").format(**self._names()))
            return [json.loads(entry) for (entry,) in cursor]

    def ingest(self, landing: LandingArea, clean: Clean) -> IngestCounts:
        """Clean every landed batch into the tables, one transaction per batch, then delete it."""
        self.create()
        counts = IngestCounts()
        # The landing area is this machine's: its lock keeps two local runs off the same batch.
        with locked(landing.directory), connect(self.url) as connection:
            landing.remove_abandoned_partials()
            for batch in landing.batches():
                counts += self._ingest_batch(connection, landing.read(batch), clean)
                connection.commit()
                landing.remove(batch)
        return replace(counts, total_rows=self.row_count())

    def _ingest_batch(self, connection, bodies: list[bytes], clean: Clean) -> IngestCounts:
        batch = sort_bodies(bodies, clean, held={})
        lines = {udi: line.decode() for udi, line in zip(batch.udis, batch.lines, strict=True)}
        first_bodies = dict(zip(batch.udis, batch.bodies, strict=True))
        rejected = batch.rejected
        with connection.cursor() as cursor:
            inserted, conflicting, stored_again = self._insert_records(cursor, lines)
            rejected += [(first_bodies[udi], conflict_reason(udi)) for udi in conflicting]
            new_entries = self._insert_quarantine(cursor, rejected)
        return IngestCounts(
            received=len(bodies),
            stored=inserted,
            duplicates=batch.duplicates + stored_again + len(rejected) - new_entries,
            quarantined=new_entries,
            batches=1,
        )

    def _insert_records(self, cursor, lines: dict[int, str]) -> tuple[int, list[int], int]:
        """Insert the new UDIs; returns how many, the UDIs stored with other content, and how
        many were stored already with the same content."""
        names = self._names()
        cursor.execute(
            sql.SQL(
                "INSERT INTO {records} (udi, record) "
                "SELECT * FROM unnest(%s::bigint[], %s::text[]) "
                "ON CONFLICT (udi) DO NOTHING RETURNING udi"
            ).format(**names),
            (list(lines), list(lines.values())),
        )
        inserted = {udi for (udi,) in cursor.fetchall()}
        existing = [udi for udi in lines if udi not in inserted]
        if not existing:
            return len(inserted), [], 0
        cursor.execute(
            sql.SQL("SELECT udi, record FROM {records} WHERE udi = ANY(%s)").format(**names),
            (existing,),
        )
        stored = dict(cursor.fetchall())
        conflicting = [udi for udi in existing if stored[udi] != lines[udi]]
        return len(inserted), conflicting, len(existing) - len(conflicting)

    def _insert_quarantine(self, cursor, rejected: list[tuple[bytes, str]]) -> int:
        """Quarantine each rejected body once; returns how many were new."""
        if not rejected:
            return 0
        entries = [
            (hashlib.sha256(body).hexdigest(), quarantine_entry(body, reason).decode())
            for body, reason in rejected
        ]
        cursor.execute(
            sql.SQL(
                "INSERT INTO {quarantine} (body_sha256, entry) "
                "SELECT * FROM unnest(%s::text[], %s::text[]) "
                "ON CONFLICT (body_sha256) DO NOTHING RETURNING body_sha256"
            ).format(**self._names()),
            ([digest for digest, _ in entries], [entry for _, entry in entries]),
        )
        return len(cursor.fetchall())

    def drop(self) -> None:
        """Drop the schema and everything in it (for tests and resets)."""
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {schema} CASCADE").format(**self._names())
            )
            connection.commit()
