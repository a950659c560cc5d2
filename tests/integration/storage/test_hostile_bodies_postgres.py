"""Arbitrary JSON and arbitrary bytes through the PostgreSQL store's landing and storing path,
with the strategies and the verdict of tests/unit/storage/test_hostile_bodies.py: 100 examples
of 50 bodies."""

import tempfile
import uuid
from pathlib import Path

import pytest
from helpers.postgres import POSTGRES_URL, run_sql
from hypothesis import given
from hypothesis import strategies as st
from unit.storage.test_hostile_bodies import FUZZ, _check, bodies

from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.storage.postgres import PostgresStore


@pytest.fixture(scope="module")
def schema(postgres_available):
    name = f"test_{uuid.uuid4().hex[:10]}"
    yield name
    run_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@FUZZ
@given(batch=st.lists(bodies, min_size=50, max_size=50))
def test_any_body_ends_stored_or_quarantined_in_the_postgres_store(schema, batch):
    table = f"r_{uuid.uuid4().hex[:10]}"
    store = PostgresStore(POSTGRES_URL, schema, table, f"{table}_quarantine")
    with tempfile.TemporaryDirectory() as folder:
        _check(store, LandingArea(Path(folder) / "landing"), batch)
