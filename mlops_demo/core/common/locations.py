"""Where things live: the repository, the Dagster homes, and the file and folder names in the data
directory. Nothing here reads the environment; callers pass the values they read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlops_demo.core.common.choices import DAGSTER_INSTANCES, SettingsError, checked_choice
from mlops_demo.core.common.urls import is_postgres_url

REPO_ROOT = Path(__file__).resolve().parents[3]
DAGSTER_HOME = REPO_ROOT / ".dagster_home"
DAGSTER_HOMES = {"sqlite": DAGSTER_HOME, "postgres": REPO_ROOT / ".dagster_home_postgres"}
DEFAULT_DAGSTER_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"

# pika logs in as guest/guest when a URL names no user, so the default shows no password.
DEFAULT_BROKER_URL = "amqp://127.0.0.1:5672/%2F"
DEFAULT_STORE_SCHEMA = "mlops_demo"

READINGS_STORE_FILE = "cleaned_readings.jsonl"
STATUSES_STORE_FILE = "cleaned_daily_statuses.jsonl"
READINGS_QUARANTINE_FILE = "quarantined_readings.jsonl"
STATUSES_QUARANTINE_FILE = "quarantined_daily_statuses.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"
LANDING_DIR = "landing"
MODELS_DIR = "trained-models"
REGISTRY_FILE = "registry.json"
# The sensor faults the drift check found, beside the registry (core/monitoring/faults.py).
SENSOR_FAULTS_FILE = "sensor_faults.json"


def resolve_data_dir(raw: str | None) -> Path:
    """The data directory a setting names; the repository root when unset."""
    data_dir = Path(raw or REPO_ROOT).expanduser()
    # A relative setting would otherwise follow whatever folder `dagster dev` was started in.
    return (REPO_ROOT / data_dir).resolve()


def store_folder(store_url: str, data_dir: Path) -> Path | None:
    """The JSONL store's folder a store URL names (None for PostgreSQL): the data directory when
    unset, and a relative folder inside it, never in whatever folder Dagster started in.

    Anything else with a scheme is refused, `postgresql+psycopg2://` included: taken as a folder,
    it would quietly become a directory named after the password."""
    if is_postgres_url(store_url):
        return None
    if "://" in store_url:
        scheme = store_url.partition("://")[0]
        raise SettingsError(
            f"MLOPS_STORE_URL has the scheme {scheme!r}, which names no store: use "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE (or postgres://...) for PostgreSQL, "
            "or a folder for the JSONL store"
        )
    return (data_dir / Path(store_url).expanduser()).resolve() if store_url else data_dir


def instance_kind(environ: Mapping[str, str]) -> str:
    """sqlite or postgres: the Dagster instance MLOPS_DAGSTER_INSTANCE selects."""
    return environ.get("MLOPS_DAGSTER_INSTANCE") or DAGSTER_INSTANCES[0]


def dagster_home(environ: Mapping[str, str], instance: str) -> Path:
    """The Dagster home every route uses: an exported DAGSTER_HOME wins, else the project's home
    for the instance kind (`MLOPS_DAGSTER_INSTANCE`)."""
    exported = environ.get("DAGSTER_HOME")
    if exported:
        return Path(exported).expanduser().resolve()
    return DAGSTER_HOMES[checked_choice("MLOPS_DAGSTER_INSTANCE", instance, DAGSTER_INSTANCES)]
