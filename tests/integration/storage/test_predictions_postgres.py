"""The prediction log's tests that take `log`, on a PostgreSQL schema of each test's own."""

import uuid

import pytest
from helpers.contract import contract_of
from helpers.postgres import POSTGRES_URL
from unit.storage import test_store_predictions

from mlops_demo.core.storage.postgres import PostgresStore
from mlops_demo.core.storage.predictions import PostgresPredictionLog

globals().update(contract_of(test_store_predictions, "log"))


@pytest.fixture
def log(postgres_available):
    schema = f"test_{uuid.uuid4().hex[:10]}"
    yield PostgresPredictionLog(POSTGRES_URL, schema)
    PostgresStore(POSTGRES_URL, schema, "unused", "unused").drop()
