"""Dagster resources: the broker, and the settings with the stores and registry they select.

Every setting is a field here and nowhere else. `resources_from_env` is the one place that reads
the environment: each field's variable is `MLOPS_` and the field's name in capitals. A set
variable becomes the field's value (a URL, which may hold a password, is bound with `dg.EnvVar`
instead, so the UI's resource page names its variable and never shows it); an unset one keeps
the documented default. Every field can be changed for one run in the Launchpad
(`resources: settings: config: min_f1: 0.5`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, TypeVar

import dagster as dg
import pydantic
from pydantic import Field

from mlops_demo.core.backends import Backend, backend_for
from mlops_demo.core.common.choices import SettingsError
from mlops_demo.core.common.locations import (
    DEFAULT_BROKER_URL,
    DEFAULT_STORE_SCHEMA,
    LANDING_DIR,
    MODELS_DIR,
    REPO_ROOT,
    dagster_home,
    instance_kind,
    resolve_data_dir,
)
from mlops_demo.core.messages.streams import Stream
from mlops_demo.core.registry.entries import RegistryError
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.signing import load_or_create_key
from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.storage.predictions import PredictionLog
from mlops_demo.core.storage.protocol import Store
from mlops_demo.core.transport import broker
from mlops_demo.defs.io_manager import SafeIOManager

# Fields whose value may hold a password: bound as dg.EnvVar, never shown as a value.
SECRET_FIELDS = frozenset({"broker_url", "store_url", "registry_key"})
REGISTRY_KEY_FILE = "mlops_registry.key"


class RabbitMQResource(dg.ConfigurableResource):
    """The RabbitMQ broker holding the readings and daily statuses queues."""

    broker_url: str = Field(
        default=DEFAULT_BROKER_URL,
        description="RabbitMQ's URL (amqp://USER:PASSWORD@HOST:5672/%2F); the password never "
        "appears in logs, metadata or run config",
    )
    readings_queue: str = Field(default="readings", description="queue of morning readings")
    statuses_queue: str = Field(default="daily_statuses", description="queue of evening statuses")
    queue_type: Literal["classic", "quorum"] = Field(
        default="classic",
        description="quorum declares both queues as quorum queues, which a cluster replicates; a "
        "queue of the other type is refused with the fix",
    )

    def queue_name(self, stream: Stream) -> str:
        return getattr(self, stream.queue_setting)

    def queue_depth(self, stream: Stream) -> int:
        return broker.queue_depth(self.broker_url, self.queue_name(stream), self.queue_type)

    def drain(self, stream: Stream, handle_chunk: Callable[[list[bytes]], object]) -> int:
        return broker.drain(
            self.broker_url, self.queue_name(stream), handle_chunk, queue_type=self.queue_type
        )

    def wait_for_depth(self, stream: Stream, minimum: int, seconds: float) -> int:
        return broker.wait_for_depth(
            self.broker_url, self.queue_name(stream), minimum, seconds, self.queue_type
        )

    def purge(self, stream: Stream) -> int:
        return broker.purge(self.broker_url, self.queue_name(stream), self.queue_type)


class SettingsResource(dg.ConfigurableResource):
    """Every threshold of the loop, and the backend (JSONL files or PostgreSQL) that holds the
    stores, the prediction log and the model registry: the one place that chooses it."""

    data_dir: str = Field(
        default=str(REPO_ROOT),
        description="where the JSONL stores, landing/ and trained-models/ live (a relative path "
        "is taken from the repository root)",
    )
    store_url: str = Field(
        default="",
        description="empty: JSONL in the data directory; a folder (relative: inside the data "
        "directory) for the JSONL store; or postgresql://... for the PostgreSQL store, which "
        "then holds the model registry too",
    )
    store_schema: str = Field(
        default=DEFAULT_STORE_SCHEMA, description="the PostgreSQL store's schema"
    )
    registry_key: str = Field(
        default="",
        description="the key that signs the model registry; set it (from a secret) when runs "
        "start on machines that share no Dagster home. Empty: the key file below",
    )
    registry_key_file: str = Field(
        default="",
        description="the file holding the registry's key, created on first use with mode "
        f"0600; empty: {REGISTRY_KEY_FILE} in the Dagster home",
    )
    executor: Literal["in_process", "multiprocess"] = Field(
        default="in_process",
        description="multiprocess runs each step in its own process (seconds per step here)",
    )
    min_batch: int = Field(
        default=500, ge=1, description="messages that make a sensor launch an ingestion run"
    )
    sensor_interval_seconds: int = Field(default=5, ge=1, description="how often sensors tick")
    sensor_watch_seconds: float = Field(
        default=3.5,
        ge=0,
        description="how long a queue sensor's tick keeps watching its queue for a full batch, "
        "so a batch is launched within a fraction of a second instead of at a later tick; 0 "
        "looks once. It ends 1.5 s before the next tick is due, whatever the value",
    )
    ingestion_max_runtime_seconds: int = Field(
        default=600,
        ge=1,
        description="an ingestion run still going after this long is failed by run monitoring; "
        "nothing is lost",
    )
    champion_margin: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="how much a new model's F1 must beat the champion's to become a candidate",
    )
    gate_min_failures: int = Field(
        default=10,
        ge=1,
        description="labelled failures the gate's window must hold before it promotes a model",
    )
    min_f1: float = Field(
        default=0.3, ge=0, le=1, description="the F1 floor of trained_model_f1_meets_floor"
    )
    max_quarantine_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="the share of a run's messages quarantined above which the stores' check warns",
    )
    drift_window: int = Field(
        default=500,
        ge=1,
        description="the newest readings the drift check compares with the training readings",
    )
    drift_min_readings: int = Field(
        default=100, ge=1, description="fewer readings on either side: no drift verdict"
    )
    drift_p_value: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="the chance that the drift check warns on a clean batch: its tests' "
        "family-wise error rate, held by Holm's correction",
    )
    min_labelled_predictions: int = Field(
        default=200,
        ge=1,
        description="labelled predictions the newest scoring batch needs for a decay verdict",
    )
    decay_p_value: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="the decay check warns when a batch this poor had less than this chance "
        "from the model's expected recall and precision",
    )
    max_unlabelled_readings: int = Field(
        default=1500,
        ge=1,
        description="readings waiting for their status above which the statuses check warns "
        "that statuses have stopped arriving",
    )
    max_refused_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="the share of a scoring's readings refused above which devices_at_risk's "
        "check warns",
    )
    crew_capacity: int | None = Field(
        default=None,
        ge=1,
        description="machines a crew can visit per scoring: devices_at_risk marks at most this "
        "many, the riskiest; unset, every machine over the model's threshold",
    )

    @property
    def data_path(self) -> Path:
        return resolve_data_dir(self.data_dir)

    @property
    def backend(self) -> Backend:
        return backend_for(self.store_url, self.store_schema, self.data_path)

    def store(self, stream: Stream) -> Store:
        return self.backend.store(stream)

    def predictions(self) -> PredictionLog:
        """The log of every prediction, beside the stores."""
        return self.backend.predictions()

    def registry(self) -> ModelRegistry:
        if self.registry_key:
            key = self.registry_key.encode()
        elif self.registry_key_file:
            key = load_or_create_key(Path(self.registry_key_file).expanduser())
        else:  # only a run's config can empty it: the environment's default is the home's file
            raise RegistryError(
                "no key for the model registry: set registry_key or registry_key_file "
                "(MLOPS_REGISTRY_KEY, MLOPS_REGISTRY_KEY_FILE)"
            )
        return ModelRegistry(self.backend.registry_storage(), key)

    def landing(self, stream: Stream) -> LandingArea:
        """This machine's landing area for the stream, always on local disk."""
        return LandingArea(self.landing_root / stream.name)

    @property
    def landing_root(self) -> Path:
        return self.data_path / LANDING_DIR

    @property
    def models_dir(self) -> Path:
        """trained-models/: the registry's folder, and where it stages a model's files."""
        return self.data_path / MODELS_DIR

    def written_paths(self) -> list[Path]:
        """Every file and folder the loop writes outside Dagster's home, whether it exists yet
        or not: the backend's files, the landing area and trained-models/."""
        return [*self.backend.files(), self.landing_root, self.models_dir]


Resource = TypeVar("Resource", RabbitMQResource, SettingsResource)


def variable(field: str) -> str:
    """The environment variable that sets a resource field."""
    return f"MLOPS_{field.upper()}"


def _explain(error: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{variable(str(problem['loc'][0]))} {problem['msg'][0].lower()}{problem['msg'][1:]}, "
        f"got {problem['input']!r}"
        for problem in error.errors()
    )


def from_env(
    cls: type[Resource], environ: Mapping[str, str] | None = None, *, bind_secrets: bool = False
) -> Resource:
    """The resource as the environment sets it; with `bind_secrets`, URLs as `dg.EnvVar`s, for
    the code location (Dagster resolves them when a run starts), else as values, for commands
    and import-time choices."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    if cls is SettingsResource:
        # The key file lives in the Dagster home every route uses, never in the data directory.
        home = dagster_home(environ, instance_kind(environ))
        values["registry_key_file"] = str(home / REGISTRY_KEY_FILE)
    for field in cls.model_fields:
        raw = environ.get(variable(field))
        if raw:
            secret = bind_secrets and field in SECRET_FIELDS
            values[field] = dg.EnvVar(variable(field)) if secret else raw
    try:
        return cls(**values)
    except pydantic.ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


def resources_from_env(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The code location's resources, bound from the environment."""
    return {
        "rabbitmq": from_env(RabbitMQResource, environ, bind_secrets=True),
        "settings": from_env(SettingsResource, environ, bind_secrets=True),
        # Frames and registry entries as JSON: Dagster's default would pickle them.
        "io_manager": SafeIOManager(),
    }
