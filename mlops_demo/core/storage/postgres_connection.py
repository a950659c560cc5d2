"""PostgreSQL connections for the stores, the prediction log and the registry: one connect that
never shows the password, and the create-once of a schema's tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from mlops_demo.core.common.choices import SettingsError
from mlops_demo.core.common.urls import check_url, redact_error, redact_url


class StoreUnavailable(RuntimeError):
    """The database cannot be reached; the text names it without the password."""


@contextmanager
def connect(url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection, closed afterwards; an unreachable server or an unusable URL is one
    StoreUnavailable, whose text never holds the password."""
    try:
        check_url(url, "MLOPS_STORE_URL")
    except SettingsError as exc:
        raise StoreUnavailable(str(exc)) from None
    try:
        # Named, so an operator (or a fault test) can tell this process's sessions apart.
        connection = psycopg2.connect(
            url, connect_timeout=10, application_name=f"mlops_demo pid {os.getpid()}"
        )
    except psycopg2.Error as exc:  # unreachable, refused, or a URL libpq cannot read
        reason = redact_error(str(exc).strip().splitlines()[0], url)
        raise StoreUnavailable(f"cannot reach PostgreSQL at {redact_url(url)} ({reason})") from None
    try:
        yield connection
    finally:
        connection.close()


def create_if_missing(url: str, statement: sql.Composable) -> None:
    """Run CREATE ... IF NOT EXISTS statements; consumers starting together race on them, and
    the loser retries."""
    with connect(url) as connection:
        for attempt in range(3):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(statement)
                connection.commit()
                return
            except psycopg2.errors.UniqueViolation:
                connection.rollback()
                if attempt == 2:
                    raise


class TablesOnce:
    """Creates a schema's tables the first time they are needed, once per object, so that not
    every statement pays a round trip for CREATE ... IF NOT EXISTS."""

    def __init__(self, url: str, statement: sql.Composable):
        self.url, self.statement, self.done = url, statement, False

    def __call__(self) -> None:
        if not self.done:
            create_if_missing(self.url, self.statement)
            self.done = True
