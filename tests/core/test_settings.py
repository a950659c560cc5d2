"""Settings: defaults, environment overrides, and clear errors for unusable values."""

from pathlib import Path

import pytest

from mlops_demo.core.settings import REPO_ROOT, SettingsError, get_settings, redact_url

VARIABLES = (
    "MLOPS_BROKER_URL",
    "MLOPS_READINGS_QUEUE",
    "MLOPS_STATUSES_QUEUE",
    "MLOPS_MIN_BATCH",
    "MLOPS_SENSOR_INTERVAL_SECONDS",
    "MLOPS_DATA_DIR",
    "MLOPS_EXECUTOR",
    "MLOPS_STORE_URL",
    "MLOPS_STORE_SCHEMA",
    "MLOPS_DAGSTER_INSTANCE",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_env):
    settings = get_settings()
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert (settings.readings_queue, settings.statuses_queue) == ("readings", "daily_statuses")
    assert settings.min_batch == 500
    assert settings.sensor_interval_seconds == 5
    assert settings.data_dir == REPO_ROOT
    assert settings.executor == "in_process"
    assert settings.store_url is None and not settings.store_is_postgres
    assert settings.dagster_instance == "sqlite"
    assert settings.dagster_home == REPO_ROOT / ".dagster_home"


def test_environment_overrides(clean_env, tmp_path):
    clean_env.setenv("MLOPS_MIN_BATCH", "20")
    clean_env.setenv("MLOPS_READINGS_QUEUE", "r2")
    clean_env.setenv("MLOPS_DATA_DIR", str(tmp_path))
    clean_env.setenv("MLOPS_EXECUTOR", "multiprocess")
    settings = get_settings()
    assert (settings.min_batch, settings.readings_queue) == (20, "r2")
    assert settings.data_dir == tmp_path.resolve()
    assert settings.executor == "multiprocess"


def test_postgres_selections(clean_env):
    clean_env.setenv("MLOPS_STORE_URL", "postgresql://u:p@db/mlops")
    clean_env.setenv("MLOPS_STORE_SCHEMA", "plant7")
    clean_env.setenv("MLOPS_DAGSTER_INSTANCE", "postgres")
    settings = get_settings()
    assert settings.store_is_postgres and settings.store_schema == "plant7"
    assert settings.dagster_home == REPO_ROOT / ".dagster_home_postgres"
    assert (settings.dagster_home / "dagster.yaml").is_file()


def test_relative_data_dir_resolves_from_the_repository_not_the_working_directory(
    clean_env, tmp_path
):
    clean_env.chdir(tmp_path)
    clean_env.setenv("MLOPS_DATA_DIR", "somewhere")
    assert get_settings().data_dir == REPO_ROOT / "somewhere"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MLOPS_MIN_BATCH", "lots", "MLOPS_MIN_BATCH must be a whole number, got 'lots'"),
        ("MLOPS_MIN_BATCH", "0", "MLOPS_MIN_BATCH must be at least 1, got 0"),
        ("MLOPS_SENSOR_INTERVAL_SECONDS", "-3", "must be at least 1, got -3"),
        ("MLOPS_EXECUTOR", "threads", "MLOPS_EXECUTOR must be one of in_process, multiprocess"),
        ("MLOPS_DAGSTER_INSTANCE", "mysql", "must be one of sqlite, postgres"),
    ],
)
def test_bad_values_say_which_setting_and_why(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        get_settings()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:secret@host:5672/%2F", "amqp://guest:***@host:5672/%2F"),
        ("amqp://host/%2F", "amqp://host/%2F"),
        ("amqp://u:p@host/v", "amqp://u:***@host/v"),
    ],
)
def test_redact_url_hides_the_password(url, shown):
    assert redact_url(url) == shown


def test_paths_are_absolute():
    assert Path(get_settings().data_dir).is_absolute()
