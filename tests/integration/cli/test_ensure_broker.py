"""The broker provisioning script: its first branch on the real broker, its last one's message."""

import subprocess
import sys

import pytest

from mlops_demo.core.common.locations import REPO_ROOT


def _run(url: str, path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlops_demo", "ensure-broker"],
        env={"MLOPS_BROKER_URL": url, "PATH": path},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.broker
def test_a_broker_that_answers_is_used_as_it_is(broker_url):
    result = _run(broker_url, "/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("RabbitMQ answers at")


def test_with_no_broker_docker_or_rabbitmq_server_it_says_the_three_ways(tmp_path):
    result = _run("amqp://guest:guest@127.0.0.1:1/%2F", str(tmp_path))
    assert result.returncode == 1
    # The password is the user's name: neither shows.
    assert result.stderr.startswith(
        "error: no RabbitMQ broker answers at amqp://***:***@127.0.0.1:1/"
    )
    for way in ("MLOPS_BROKER_URL", "docker compose up -d", "rabbitmq-server -detached"):
        assert way in result.stderr
    assert "Traceback" not in result.stderr


def test_for_a_broker_on_another_host_nothing_is_started_here(tmp_path):
    started = tmp_path / "started"
    for program in ("docker", "rabbitmq-server"):
        fake = tmp_path / program
        fake.write_text(f"#!/bin/sh\ntouch {started}\n")
        fake.chmod(0o755)
    # .invalid never resolves, so no packet leaves this machine.
    result = _run("amqp://plant:s3cret@broker.invalid:5672/%2F", f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode == 1
    assert "broker.invalid is not this machine, so nothing is started here" in result.stderr
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr
    assert not started.exists()
