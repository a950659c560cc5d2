"""Shared fixtures: a private data directory, private queues on the real broker, sample records."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from helpers.ci import absent
from helpers.postgres import POSTGRES_URL, run_sql

from mlops_demo.core.common.locations import DEFAULT_BROKER_URL, REPO_ROOT
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.transport import broker

REFERENCE_CSV = REPO_ROOT.parent / "shared" / "data" / "predictive_maintenance.csv"


def _reference_csv() -> Path:
    # A variable, so a test can show what happens when the file is missing.
    return Path(os.environ.get("MLOPS_REFERENCE_CSV") or REFERENCE_CSV)


@pytest.fixture(scope="session")
def reference_csv() -> Path:
    path = _reference_csv()
    if not path.exists():
        absent(f"reference data {path} is absent (it lives in ../shared/data)")
    return path


@pytest.fixture(scope="session")
def broker_url() -> str:
    """The real broker; the test run fails loudly, never skips, when it does not answer."""
    import os

    url = os.environ.get("MLOPS_BROKER_URL") or DEFAULT_BROKER_URL
    try:
        broker.queue_depth(url, "mlops_demo_test_probe")
        broker.delete_queue(url, "mlops_demo_test_probe")
    except broker.BrokerUnavailable as exc:
        pytest.fail(f"{exc}: run `mlops-demo ensure-broker` first", pytrace=False)
    return url


@pytest.fixture
def queues(broker_url: str):
    """Two queue names of this test's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    names = {"readings": f"test_{tag}_readings", "statuses": f"test_{tag}_daily_statuses"}
    yield names
    for name in names.values():
        broker.delete_queue(broker_url, name)


@pytest.fixture
def env(monkeypatch, tmp_path: Path, broker_url: str, queues: dict[str, str]) -> Path:
    """Point every setting at this test's data directory and queues; returns the data dir."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("MLOPS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MLOPS_BROKER_URL", broker_url)
    monkeypatch.setenv("MLOPS_READINGS_QUEUE", queues["readings"])
    monkeypatch.setenv("MLOPS_STATUSES_QUEUE", queues["statuses"])
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # never a person's own instance
    # The registry's key: the test's own, never the project's Dagster home.
    monkeypatch.setenv("MLOPS_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    return data_dir


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return simulate(2000)


@pytest.fixture
def instance():
    """A real Dagster instance (SQLite storage in a temporary folder)."""
    import dagster as dg

    with dg.instance_for_test() as instance:
        yield instance


def pytest_sessionfinish(session):
    """On a pytest-xdist worker, hand the fault rows it measured to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from helpers.faults import FAULT_TABLE

        workeroutput["fault_table"] = [list(row) for row in FAULT_TABLE]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """On the pytest-xdist controller, gather the fault rows each worker measured."""
    from helpers.faults import FAULT_TABLE

    FAULT_TABLE.extend(tuple(row) for row in node.workeroutput.get("fault_table", []))


def pytest_terminal_summary(terminalreporter):
    """The fault-injection table, when the fault tests ran."""
    from helpers.faults import FAULT_TABLE

    if not FAULT_TABLE:
        return
    terminalreporter.section("faults: nothing lost, nothing doubled")
    header = (
        f"{'fault':<48} {'sent':>7} {'stored':>7} {'quarantined':>11} {'lost':>5} {'doubled':>7}"
    )
    terminalreporter.write_line(header)
    for fault, sent, stored, quarantined, lost, doubled in FAULT_TABLE:
        terminalreporter.write_line(
            f"{fault:<48} {sent:>7} {stored:>7} {quarantined:>11} {lost:>5} {doubled:>7}"
        )


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """PostgreSQL answers; the run fails loudly, never skips, when it does not."""
    import psycopg2

    try:
        run_sql("SELECT 1")
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at 127.0.0.1:5432 does not answer ({exc}); start it", pytrace=False
        )


@pytest.fixture(params=["jsonl+sqlite", "postgres+postgres"])
def backend(request, env, monkeypatch) -> str:
    """Both kinds of store and of Dagster instance: the JSONL store with a SQLite instance, and
    the PostgreSQL store (a schema of the test's own) with a PostgreSQL instance (a database of
    its own); both dropped afterwards."""
    if request.param == "jsonl+sqlite":
        yield request.param
        return
    request.getfixturevalue("postgres_available")
    from mlops_demo.core.storage.postgres import PostgresStore

    tag = uuid.uuid4().hex[:10]
    schema, database = f"test_{tag}", f"dagster_test_{tag}"
    monkeypatch.setenv("MLOPS_STORE_URL", POSTGRES_URL)
    monkeypatch.setenv("MLOPS_STORE_SCHEMA", schema)
    monkeypatch.setenv("MLOPS_DAGSTER_INSTANCE", "postgres")
    run_sql(f"CREATE DATABASE {database}")
    monkeypatch.setenv(
        "MLOPS_DAGSTER_POSTGRES_URL", f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
    )
    try:
        yield request.param
    finally:
        PostgresStore(POSTGRES_URL, schema, "unused", "unused").drop()
        run_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture
def backend_instance(backend):
    """A real Dagster instance of the backend's kind."""
    import os

    import dagster as dg

    overrides = None
    if backend.startswith("postgres"):
        url = os.environ["MLOPS_DAGSTER_POSTGRES_URL"]
        overrides = {"storage": {"postgres": {"postgres_url": url}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        yield instance
