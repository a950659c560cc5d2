"""The store contract's tests that take `store`, on a PostgreSQL schema of each test's own."""

import uuid

import pytest
from helpers.contract import contract_of
from helpers.postgres import POSTGRES_URL
from unit.storage import test_store_protocol

from mlops_demo.core.storage.postgres import PostgresStore

globals().update(contract_of(test_store_protocol, "store"))


@pytest.fixture
def store(postgres_available):
    store = PostgresStore(POSTGRES_URL, f"test_{uuid.uuid4().hex[:10]}", "readings", "quarantine")
    yield store
    store.drop()
