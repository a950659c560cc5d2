"""Credentials stay secret and local, and stored files are not writable by other users."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from helpers.runs import run_job

from mlops_demo.core import broker
from mlops_demo.core.records import reading_of
from mlops_demo.core.settings import SettingsError, check_credentials
from mlops_demo.core.simulator import simulate

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/%2F", True),
        ("amqp://guest:guest@localhost/%2F", True),
        ("amqp://localhost/%2F", True),
        ("amqp://guest:guest@rabbit.internal:5672/%2F", False),
        ("amqp://rabbit.internal/%2F", False),
        ("amqp://alice:pw@rabbit.internal:5672/%2F", True),
    ],
)
def test_the_guest_account_is_for_localhost_only(url, allowed):
    if allowed:
        check_credentials(url)
    else:
        with pytest.raises(
            SettingsError, match="guest account is accepted only for a broker on localhost"
        ):
            check_credentials(url)


@pytest.fixture
def broker_user(broker_url):
    """A RabbitMQ user of this test's own, so its password can be searched for."""
    name = f"mlops_test_{uuid.uuid4().hex[:8]}"
    for command in (
        ["add_user", name, PASSWORD],
        ["set_permissions", "-p", "/", name, ".*", ".*", ".*"],
    ):
        subprocess.run(["rabbitmqctl", *command], check=True, capture_output=True)
    yield f"amqp://{name}:{PASSWORD}@127.0.0.1:5672/%2F"
    subprocess.run(["rabbitmqctl", "delete_user", name], check=False, capture_output=True)


@pytest.mark.broker
def test_the_password_never_reaches_logs_metadata_or_run_config(
    env, instance, broker_user, queues, monkeypatch, capfd
):
    monkeypatch.setenv("MLOPS_BROKER_URL", broker_user)
    records = simulate(50)
    broker.publish(
        broker_user, queues["readings"], [json.dumps(reading_of(x)).encode() for x in records]
    )
    result = run_job(instance, "get_all_readings_job")
    assert result.success
    for key in instance.get_asset_keys():
        for record in instance.fetch_materializations(key, limit=100).records:
            assert PASSWORD not in str(record.event_log_entry)
    for entry in instance.all_logs(result.run_id):
        assert PASSWORD not in str(entry)
    assert PASSWORD not in json.dumps(instance.get_run_by_id(result.run_id).run_config)
    # A broker failure message names the broker without the password.
    monkeypatch.setenv("MLOPS_BROKER_URL", broker_user.replace("5672", "1"))
    failed = run_job(instance, "get_all_readings_job", raise_on_error=False)
    assert not failed.success
    for entry in instance.all_logs(failed.run_id):
        assert PASSWORD not in str(entry)
    assert PASSWORD not in "".join(capfd.readouterr())


def test_stores_and_registry_are_not_writable_by_others(env, instance, broker_url, queues):
    from helpers.runs import ingest, materialize

    # With no umask to hide it, every file and folder must carry its own safe mode.
    previous = os.umask(0)
    try:
        records = simulate(300)
        ingest(instance, broker_url, queues, readings=records, statuses=records)
        broker.publish(broker_url, queues["readings"], [b"not json"])
        run_job(instance, "get_all_readings_job")
        run_job(instance, "train_ml_model")
        materialize(instance, "production_model_candidates")
    finally:
        os.umask(previous)
    paths = list(Path(env).rglob("*"))
    names = {p.name for p in paths}
    assert {"cleaned_readings.jsonl", "quarantined_readings.jsonl", "registry.json"} <= names
    for path in paths:
        assert not os.stat(path).st_mode & 0o022, f"{path} is writable by others"


def test_docker_compose_binds_localhost_and_takes_the_password_from_the_environment():
    from mlops_demo.core.settings import REPO_ROOT

    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    assert '"127.0.0.1:5672:5672"' in compose and '"127.0.0.1:15672:15672"' in compose
    assert "RABBITMQ_DEFAULT_PASS: ${RABBITMQ_PASSWORD:-guest}" in compose
