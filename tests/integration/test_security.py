"""Credentials stay secret and local, and stored files are not writable by other users."""

import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.postgres import POSTGRES_URL, run_sql
from helpers.runs import run_job

from mlops_demo.core.common.choices import SettingsError
from mlops_demo.core.common.urls import check_credentials
from mlops_demo.core.messages.records import reading_of
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.storage.postgres import PostgresStore
from mlops_demo.core.transport import broker

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
    from mlops_demo.core.common.locations import REPO_ROOT

    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    assert '"127.0.0.1:5672:5672"' in compose and '"127.0.0.1:15672:15672"' in compose
    assert "RABBITMQ_DEFAULT_PASS: ${RABBITMQ_PASSWORD:-guest}" in compose


SPECIAL = f"p?w#d@x%{uuid.uuid4().hex[:6]}"
SPECIAL_IN_URL = quote(SPECIAL, safe="")


def _secret_forms() -> tuple[str, ...]:
    return (SPECIAL, SPECIAL_IN_URL, SPECIAL_IN_URL.lower())


def _assert_hidden(text: str) -> None:
    for form in _secret_forms():
        assert form not in text, f"{form!r} appeared"


@pytest.fixture
def special_credentials(broker_url, postgres_available):
    """A broker user and a PostgreSQL role whose password holds ?, #, @ and %."""
    name = f"mlops_test_{uuid.uuid4().hex[:8]}"
    for command in (
        ["add_user", name, SPECIAL],
        ["set_permissions", "-p", "/", name, ".*", ".*", ".*"],
    ):
        subprocess.run(["rabbitmqctl", *command], check=True, capture_output=True)
    run_sql(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{SPECIAL}'")
    try:
        yield {
            "broker": f"amqp://{name}:{SPECIAL_IN_URL}@127.0.0.1:5672/%2F",
            "store": f"postgresql://{name}:{SPECIAL_IN_URL}@127.0.0.1:5432/postgres",
        }
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", name], check=False, capture_output=True)
        run_sql(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.broker
def test_passwords_with_reserved_characters_reach_no_log_metadata_error_or_run_config(
    env, instance, special_credentials, queues, monkeypatch, capfd
):
    schema = f"test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("MLOPS_BROKER_URL", special_credentials["broker"])
    monkeypatch.setenv("MLOPS_STORE_URL", special_credentials["store"])
    monkeypatch.setenv("MLOPS_STORE_SCHEMA", schema)
    broker.publish(
        special_credentials["broker"],
        queues["readings"],
        [json.dumps(reading_of(x)).encode() for x in simulate(50)],
    )
    try:
        runs = [run_job(instance, "get_all_readings_job")]
        assert runs[0].success
        # The same password typed unencoded, and a server that does not answer: both fail, and
        # neither failure shows it.
        typed = special_credentials["broker"].replace(SPECIAL_IN_URL, SPECIAL)
        for broker_url, store_url in (
            (typed, special_credentials["store"]),
            (special_credentials["broker"], special_credentials["store"].replace("5432", "1")),
        ):
            monkeypatch.setenv("MLOPS_BROKER_URL", broker_url)
            monkeypatch.setenv("MLOPS_STORE_URL", store_url)
            broker.publish(special_credentials["broker"], queues["readings"], [b"{}"])
            runs.append(run_job(instance, "get_all_readings_job", raise_on_error=False))
        assert [run.success for run in runs] == [True, False, False]
        for run in runs:
            for entry in instance.all_logs(run.run_id):
                _assert_hidden(str(entry))
            _assert_hidden(json.dumps(instance.get_run_by_id(run.run_id).run_config))
        for key in instance.get_asset_keys():
            for record in instance.fetch_materializations(key, limit=100).records:
                _assert_hidden(str(record.event_log_entry))
        _assert_hidden("".join(capfd.readouterr()))
    finally:
        PostgresStore(POSTGRES_URL, schema, "unused", "unused").drop()
