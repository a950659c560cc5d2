"""Runtime settings, read from environment variables in this one place."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_HOME = REPO_ROOT / ".dagster_home"
DAGSTER_HOMES = {"sqlite": DAGSTER_HOME, "postgres": REPO_ROOT / ".dagster_home_postgres"}
DEFAULT_DAGSTER_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_STORE_SCHEMA = "mlops_demo"

READINGS_STORE_FILE = "cleaned_readings.jsonl"
STATUSES_STORE_FILE = "cleaned_daily_statuses.jsonl"
READINGS_QUARANTINE_FILE = "quarantined_readings.jsonl"
STATUSES_QUARANTINE_FILE = "quarantined_daily_statuses.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"
LANDING_DIR = "landing"
MODELS_DIR = "trained-models"
REGISTRY_FILE = "registry.json"


class SettingsError(ValueError):
    """A setting from the environment has a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    broker_url: str
    readings_queue: str
    statuses_queue: str
    # classic, or quorum: RabbitMQ's replicated type, which a cluster needs to survive losing a
    # node. A queue keeps the type it was declared with.
    queue_type: str
    min_batch: int
    sensor_interval_seconds: int
    ingestion_max_runtime_seconds: int
    data_dir: Path
    executor: str
    # None: the JSONL store in the data directory; else a folder for it, or a postgresql:// URL.
    store_url: str | None
    store_schema: str
    dagster_instance: str
    # The model lifecycle's thresholds, read by automation as much as by people.
    champion_margin: float
    min_f1: float
    max_quarantine_share: float
    # Monitoring: when the drift check and the realized-performance check give a verdict.
    drift_p_value: float
    drift_psi: float
    drift_window: int
    drift_min_readings: int
    min_labelled_predictions: int
    realized_f1_margin: float

    @property
    def dagster_home(self) -> Path:
        """The project's own Dagster home for the selected instance kind."""
        return DAGSTER_HOMES[self.dagster_instance]

    @property
    def store_is_postgres(self) -> bool:
        return bool(self.store_url) and is_postgres_url(self.store_url)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _fraction(name: str, default: float, maximum: float = 1.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number from 0 to {maximum:g}, got {raw!r}") from None
    if not 0 <= value <= maximum:
        raise SettingsError(f"{name} must be from 0 to {maximum:g}, got {value}")
    return value


EXECUTORS = ("in_process", "multiprocess")
DAGSTER_INSTANCES = ("sqlite", "postgres")
QUEUE_TYPES = ("classic", "quorum")


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    return checked_choice(name, os.environ.get(name) or allowed[0], allowed)


def checked_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """`value` of the setting `name` if it is one of `allowed`; else a SettingsError saying so."""
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def resolve_data_dir(raw: str | None) -> Path:
    """The data directory a setting names; the repository root when unset."""
    data_dir = Path(raw or REPO_ROOT).expanduser()
    # A relative setting would otherwise follow whatever folder `dagster dev` was started in.
    return (REPO_ROOT / data_dir).resolve()


def get_settings() -> Settings:
    """Read the settings now, so a changed environment is seen without re-importing anything."""
    return Settings(
        broker_url=os.environ.get("MLOPS_BROKER_URL") or DEFAULT_BROKER_URL,
        readings_queue=os.environ.get("MLOPS_READINGS_QUEUE") or "readings",
        statuses_queue=os.environ.get("MLOPS_STATUSES_QUEUE") or "daily_statuses",
        queue_type=_choice("MLOPS_QUEUE_TYPE", QUEUE_TYPES),
        min_batch=_positive_int("MLOPS_MIN_BATCH", 500),
        sensor_interval_seconds=_positive_int("MLOPS_SENSOR_INTERVAL_SECONDS", 5),
        ingestion_max_runtime_seconds=_positive_int("MLOPS_INGESTION_MAX_RUNTIME_SECONDS", 600),
        data_dir=resolve_data_dir(os.environ.get("MLOPS_DATA_DIR")),
        executor=_choice("MLOPS_EXECUTOR", EXECUTORS),
        store_url=os.environ.get("MLOPS_STORE_URL") or None,
        store_schema=os.environ.get("MLOPS_STORE_SCHEMA") or DEFAULT_STORE_SCHEMA,
        dagster_instance=_choice("MLOPS_DAGSTER_INSTANCE", DAGSTER_INSTANCES),
        champion_margin=_fraction("MLOPS_CHAMPION_MARGIN", 0.0),
        min_f1=_fraction("MLOPS_MIN_F1", 0.3),
        max_quarantine_share=_fraction("MLOPS_MAX_QUARANTINE_SHARE", 0.05),
        drift_p_value=_fraction("MLOPS_DRIFT_P_VALUE", 0.01),
        drift_psi=_fraction("MLOPS_DRIFT_PSI", 0.2, maximum=10.0),
        drift_window=_positive_int("MLOPS_DRIFT_WINDOW", 500),
        drift_min_readings=_positive_int("MLOPS_DRIFT_MIN_READINGS", 100),
        min_labelled_predictions=_positive_int("MLOPS_MIN_LABELLED_PREDICTIONS", 500),
        realized_f1_margin=_fraction("MLOPS_REALIZED_F1_MARGIN", 0.15),
    )


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def check_credentials(url: str) -> None:
    """RabbitMQ's default guest account is for a broker on this machine only."""
    parts = urlsplit(url)
    if (parts.username or "guest") == "guest" and (
        parts.hostname or "localhost"
    ) not in LOCAL_HOSTS:
        raise SettingsError(
            f"the default guest account is accepted only for a broker on localhost, not "
            f"{parts.hostname}: put a user of your own in MLOPS_BROKER_URL "
            "(amqp://USER:PASSWORD@HOST:5672/%2F)"
        )


_SECRET_PARAMETER = re.compile(r"([?&;](?:password|passwd|pwd|secret|token)=)[^&;#]*", re.I)


def redact_url(url: str) -> str:
    """The URL with every password replaced by ***, fit for logs, metadata and errors.

    Written for URLs a person may have typed wrongly: a password with an unencoded `?`, `#`, `/`
    or `@` ends the authority early for a URL parser, so the userinfo is taken up to the last
    `@` (a few characters too many are hidden rather than one too few shown), and password
    parameters in the query (`?password=`) are hidden too.
    """
    scheme, separator, rest = _SECRET_PARAMETER.sub(r"\1***", url).partition("://")
    userinfo, at, location = rest.rpartition("@")
    if separator and at:
        user, colon, _password = userinfo.partition(":")
        rest = f"{user}{':***' if colon else ''}@{location}"
    return f"{scheme}{separator}{rest}"
