"""Dagster's production topology on this machine: code server, webserver and daemon as separate
processes sharing nothing but PostgreSQL; the walkthrough through that webserver, with the code
server and the daemon killed and restarted on the way."""

import os
import subprocess
import sys
import time

import pytest
from helpers.cli_runner import run_cli
from helpers.runs import current_storage, stored_udis

from mlops_demo.cli.walkthrough import SENSORS, Walkthrough
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.devserver.local_deployment import COMPONENTS, LocalDeployment

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def _publish(kind: str, offset: int) -> None:
    """`mlops-demo publish` the next 500, as the publish scripts do."""
    command = [sys.executable, "-m", "mlops_demo", "publish", kind, "-n", "500", "-o", str(offset)]
    published = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert published.returncode == 0, published.stderr


def _wait_stored(stream, expected: list[int], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while sorted(stored_udis(stream)) != expected:
        assert time.monotonic() < deadline, f"{stream.name}: {len(stored_udis(stream))} stored"
        time.sleep(1)


@pytest.mark.parametrize("backend", ["postgres+postgres"], indirect=True)
def test_the_topology_runs_the_loop_through_restarts_of_code_server_and_daemon(
    env, backend, tmp_path, monkeypatch
):
    # An ingestion run killed with the code server is failed by run monitoring after this long,
    # and its sensor goes on.
    monkeypatch.setenv("MLOPS_INGESTION_MAX_RUNTIME_SECONDS", "20")
    deployment = LocalDeployment(tmp_path / "deployment")
    said: list[str] = []
    try:
        deployment.start_all()
        groups = {os.getpgid(process.pid) for process in deployment.processes.values()}
        assert set(deployment.processes) == set(COMPONENTS) and len(groups) == 3
        webserver = deployment.webserver
        walkthrough = Walkthrough(webserver, batch=500, say=said.append)
        assert [webserver.ensure_sensor_running(sensor) for sensor in SENSORS] == ["RUNNING"] * 3
        walkthrough.publish_and_ingest(READINGS)

        # The code server crashes; readings arrive meanwhile; it comes back.
        deployment.kill("code-server")
        _publish("readings", 500)
        deployment.start("code-server")
        deployment.wait_for_code_server()
        _wait_stored(READINGS, list(range(1, 1001)))

        # The daemon crashes; statuses arrive meanwhile; it comes back.
        deployment.kill("daemon")
        _publish("statuses", 0)
        deployment.start("daemon")
        _wait_stored(STATUSES, list(range(1, 501)))

        # Training, the automation's candidates and a deployment, all after both restarts.
        first = walkthrough.train_and_wait_for_candidates()
        scored = walkthrough.deploy_and_wait_for_devices_at_risk(first["recommended_model"])
        assert scored["num_unknown"] == 500
        # The registry lives in PostgreSQL beside the store: no process keeps models on disk.
        assert current_storage().registry().deployed_name() == first["recommended_model"]
        assert not (deployment.folder("code-server") / "data" / "trained-models").exists()
        assert not (deployment.folder("webserver") / "data").exists()
    finally:
        deployment.stop_all()
    assert sorted(stored_udis(READINGS)) == list(range(1, 1001))  # nothing lost or doubled
    assert sorted(stored_udis(STATUSES)) == list(range(1, 501))


def test_a_store_that_is_not_postgresql_is_refused_with_the_setting(env, monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_STORE_URL", str(tmp_path / "jsonl"))
    result = run_cli("deploy-local", "--dir", str(tmp_path / "deployment"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deploy-local shares nothing but PostgreSQL")
    assert "MLOPS_STORE_URL" in result.stderr and not (tmp_path / "deployment").exists()
