"""The prediction log: every verdict a deployed model gave, each (UDI, model) once.

Same rules as the record stores: durable before the asset reports it, and a replayed scoring run
stores nothing twice. JSONL next to the record stores, or a PostgreSQL table in the same schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from psycopg2 import sql

from mlops_demo.core.common.durable import append_durably, complete_lines, locked, repair_tail
from mlops_demo.core.common.urls import redact_url
from mlops_demo.core.messages.records import UDI, canonical_line
from mlops_demo.core.storage.jsonl import frame_of_lines
from mlops_demo.core.storage.postgres_connection import TablesOnce, connect
from mlops_demo.core.storage.udi_index import line_udis

if TYPE_CHECKING:
    import pandas as pd

MODEL = "model"
# The failure mode, its margin and the action are empty in lines logged before they were kept;
# `shadow` is true for a verdict of the model scoring beside the deployed one, never acted on.
COLUMNS = (
    UDI,
    MODEL,
    "failure_probability",
    "at_risk",
    "predicted_at",
    "failure_mode",
    "margin",
    "action",
    "shadow",
)


class PredictionLog(Protocol):
    @property
    def location(self) -> str: ...

    def append(self, predictions: list[dict]) -> int:
        """Store the predictions not stored yet (by UDI and model); returns how many were new."""

    def read_frame(self) -> pd.DataFrame: ...


def _line(prediction: dict) -> bytes:
    defaults = {"shadow": False}
    return canonical_line(
        {column: prediction.get(column, defaults.get(column, "")) for column in COLUMNS}
    )


class JsonlPredictionLog:
    def __init__(self, path: Path):
        self.path = path

    @property
    def location(self) -> str:
        return str(self.path)

    def _data(self) -> bytes:
        try:
            return complete_lines(self.path.read_bytes())
        except FileNotFoundError:
            return b""

    def _stored_keys(self, udis: list[int]) -> set[tuple[int, str]]:
        # Only the verdicts on these UDIs are parsed: a log of months holds millions.
        data = self._data()
        starts, ends, stored = line_udis(data)
        among = np.flatnonzero(np.isin(stored, udis))
        rows = (json.loads(data[starts[i] : ends[i]]) for i in among)
        return {(row[UDI], row[MODEL]) for row in rows}

    def append(self, predictions: list[dict]) -> int:
        with locked(self.path):
            repair_tail(self.path)
            keys = self._stored_keys([p[UDI] for p in predictions])
            new = [p for p in predictions if (p[UDI], p[MODEL]) not in keys]
            new = list({(p[UDI], p[MODEL]): p for p in new}.values())
            append_durably(self.path, b"".join(_line(p) + b"\n" for p in new))
        return len(new)

    def read_frame(self) -> pd.DataFrame:
        return frame_of_lines(self._data().splitlines(), COLUMNS)


class PostgresPredictionLog:
    def __init__(self, url: str, schema: str):
        self.url = url
        self.schema_name = schema
        self.table = sql.Identifier(schema, "predictions")
        self.schema = sql.Identifier(schema)
        self._create = TablesOnce(
            url,
            sql.SQL(
                "CREATE SCHEMA IF NOT EXISTS {schema};"
                "CREATE TABLE IF NOT EXISTS {table} (udi bigint, model text, entry text NOT "
                "NULL, PRIMARY KEY (udi, model))"
            ).format(schema=self.schema, table=self.table),
        )

    @property
    def location(self) -> str:
        return f"{redact_url(self.url)} {self.schema_name}.predictions"

    def append(self, predictions: list[dict]) -> int:
        self._create()
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {table} (udi, model, entry) "
                    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
                    "ON CONFLICT DO NOTHING RETURNING udi"
                ).format(table=self.table),
                (
                    [p[UDI] for p in predictions],
                    [p[MODEL] for p in predictions],
                    [_line(p).decode() for p in predictions],
                ),
            )
            stored = len(cursor.fetchall())
            connection.commit()
        return stored

    def read_frame(self) -> pd.DataFrame:
        import pandas as pd

        self._create()
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT entry FROM {table} ORDER BY udi, model").format(table=self.table)
            )
            rows = [json.loads(entry) for (entry,) in cursor]
        return pd.DataFrame.from_records(rows, columns=list(COLUMNS))
