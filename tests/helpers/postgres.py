"""The machine's PostgreSQL server, as the tests reach it (trust authentication on loopback)."""

import psycopg2

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def run_sql(statement: str) -> None:
    """Run one statement outside a transaction (CREATE DATABASE needs that)."""
    connection = psycopg2.connect(POSTGRES_URL, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()
