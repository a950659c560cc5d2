"""The registry's tests that take `registry`, on a PostgreSQL schema of each test's own."""

import uuid

import pytest
from helpers.contract import contract_of
from helpers.models import TEST_KEY
from helpers.postgres import POSTGRES_URL, run_sql
from unit.registry import test_registry

from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.storage import PostgresRegistryStorage

globals().update(contract_of(test_registry, "registry", "open_registry"))


@pytest.fixture
def open_registry(postgres_available):
    schema = f"test_{uuid.uuid4().hex[:10]}"
    yield lambda: ModelRegistry(PostgresRegistryStorage(POSTGRES_URL, schema), TEST_KEY)
    run_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
