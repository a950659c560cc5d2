"""The reset command: asks first, removes runtime state, keeps tracked files, purges queues."""

import json
import subprocess
import sys
import uuid

import psycopg2
import pytest
from helpers.models import TEST_KEY
from helpers.postgres import POSTGRES_URL, run_sql

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.streams import READINGS
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.storage import FolderRegistryStorage
from mlops_demo.core.transport import broker
from mlops_demo.defs.resources import StorageResource, from_env

pytestmark = pytest.mark.broker


@pytest.fixture
def state(env, tmp_path, broker_url, queues):
    for name in (
        "cleaned_readings.jsonl",
        "cleaned_daily_statuses.jsonl",
        "quarantined_readings.jsonl",
        "quarantined_readings.jsonl.sha256",
        "cleaned_readings.jsonl.udis",
        "predictions.jsonl",
    ):
        (env / name).write_text("{}\n")
    (env / "landing" / "readings").mkdir(parents=True)
    models = env / "trained-models"
    models.mkdir()
    (models / ".gitkeep").touch()
    (models / "model-x.pickle").write_bytes(b"x")
    (models / "registry.json").write_text("{}")
    home = tmp_path / "home"
    (home / "history").mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    broker.publish(broker_url, queues["readings"], [b"{}"] * 3)
    return env, home


def _reset(home, *args, typed=""):
    return subprocess.run(
        [sys.executable, "-m", "mlops_demo", "reset", "--dagster-home", str(home), *args],
        input=typed, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip


def test_it_asks_and_does_nothing_without_a_yes(state):
    env, home = state
    result = _reset(home, typed="no\n")
    assert result.returncode == 1 and "nothing was removed" in result.stdout
    assert (env / "cleaned_readings.jsonl").exists()


def test_yes_removes_the_state_and_keeps_tracked_files(state, broker_url, queues):
    env, home = state
    result = _reset(home, typed="yes\n")
    assert result.returncode == 0, result.stderr
    assert str(env / "cleaned_readings.jsonl") in result.stdout
    assert not (env / "cleaned_readings.jsonl").exists() and not (env / "landing").exists()
    assert [p.name for p in env.iterdir()] == ["trained-models"]
    assert [p.name for p in (env / "trained-models").iterdir()] == [".gitkeep"]
    assert [p.name for p in home.iterdir()] == ["dagster.yaml"]
    assert f"purged 3 messages from '{queues['readings']}'" in result.stdout
    assert broker.queue_depth(broker_url, queues["readings"]) == 0


def test_a_broker_outage_is_reported_after_the_files(state, monkeypatch):
    env, home = state
    monkeypatch.setenv("MLOPS_BROKER_URL", "amqp://guest:guest@127.0.0.1:1/%2F")
    result = _reset(home, "--yes")
    assert result.returncode == 1
    assert "the files are reset but the queues are not" in result.stderr
    assert not (env / "cleaned_readings.jsonl").exists()


def test_a_folder_store_outside_the_data_directory_is_reset_too(state, monkeypatch, tmp_path):
    _, home = state
    folder = tmp_path / "elsewhere"
    monkeypatch.setenv("MLOPS_STORE_URL", str(folder))
    for name in ("cleaned_readings.jsonl", "cleaned_readings.jsonl.udis", "predictions.jsonl"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}\n")
    result = _reset(home, "--yes")
    assert result.returncode == 0, result.stderr
    assert str(folder / "cleaned_readings.jsonl") in result.stdout
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("postgres_available")
def _schema_exists(schema: str) -> bool:
    with psycopg2.connect(POSTGRES_URL) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        )
        return cursor.fetchone() is not None


def test_a_postgresql_store_is_dropped(state, monkeypatch):
    _, home = state
    schema = f"test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("MLOPS_STORE_URL", POSTGRES_URL)
    monkeypatch.setenv("MLOPS_STORE_SCHEMA", schema)
    try:
        from_env(StorageResource).store(READINGS).create()
        assert _schema_exists(schema)
        result = _reset(home, "--yes")
        assert result.returncode == 0, result.stderr
        assert f"the PostgreSQL schema {schema} at" in result.stdout
        assert f"dropped the schema {schema}" in result.stdout
        assert not _schema_exists(schema)
    finally:
        run_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.mark.usefixtures("state")
def test_an_exported_dagster_home_is_the_one_reset(monkeypatch, tmp_path):
    exported = tmp_path / "exported_home"
    (exported / "history").mkdir(parents=True)
    (exported / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(exported))
    result = subprocess.run(
        [sys.executable, "-m", "mlops_demo", "reset", "--yes"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [p.name for p in exported.iterdir()] == ["dagster.yaml"]


def test_models_of_an_earlier_pipeline_are_removed_and_a_new_registry_starts(state):
    """A registry of an earlier format and a pickle of a class that no longer exists: neither
    is read, both are removed, and the next registry starts empty."""
    env, home = state
    models = env / "trained-models"
    earlier = {"format": 3, "models": [{"name": "trained-models/model-old.pickle"}]}
    (models / "registry.json").write_text(json.dumps({**earlier, "deployments": []}))
    (models / "model-old.pickle").write_bytes(b"cmlops_demo.core.modelling\nOutOfBagThreshold\n.")
    result = _reset(home, "--yes")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in models.iterdir()] == [".gitkeep"]
    assert ModelRegistry(FolderRegistryStorage(models), TEST_KEY).entries() == []
