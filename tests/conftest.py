"""Shared fixtures: a private data directory, private queues on the real broker, sample records."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mlops_demo import broker
from mlops_demo.settings import DEFAULT_BROKER_URL, REPO_ROOT
from mlops_demo.simulator import simulate

REFERENCE_CSV = REPO_ROOT.parent / "shared" / "data" / "predictive_maintenance.csv"


@pytest.fixture
def reference_csv() -> Path:
    if not REFERENCE_CSV.exists():
        pytest.skip(f"reference data {REFERENCE_CSV} is absent (it lives in ../shared/data)")
    return REFERENCE_CSV


@pytest.fixture(scope="session")
def broker_url() -> str:
    """The real broker; the test run fails loudly, never skips, when it does not answer."""
    import os

    url = os.environ.get("MLOPS_BROKER_URL") or DEFAULT_BROKER_URL
    try:
        broker.queue_depth(url, "mlops_demo_test_probe")
        broker.delete_queue(url, "mlops_demo_test_probe")
    except broker.BrokerUnavailable as exc:
        pytest.fail(f"{exc}: run `python -m mlops_demo.ensure_broker` first", pytrace=False)
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


def pytest_terminal_summary(terminalreporter):
    """The fault-injection table, when the fault tests ran."""
    from test_faults import FAULT_TABLE

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
