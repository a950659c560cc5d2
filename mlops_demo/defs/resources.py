"""The resources every stage shares (the broker, and the storage that holds the stores, the
prediction log and the registry), the plain settings Dagster reads while it loads, and
`from_env`, the one place that reads the environment.

Each setting is a field of one class: these, or the thresholds of a stage, which sit with it
(`defs/<stage>/settings.py`). Its variable is `MLOPS_` and the field's name in capitals. A set
variable becomes the field's value (a URL, which may hold a password, is bound with `dg.EnvVar`
instead, so the UI's resource page names its variable and never shows it); an unset one keeps
the documented default. A resource's field can be changed for one run in the Launchpad
(`resources: gate_settings: config: min_f1: 0.5`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

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
from mlops_demo.defs.deployment.settings import DeploymentSettings
from mlops_demo.defs.housekeeping.settings import HousekeepingSettings
from mlops_demo.defs.inference.settings import InferenceSettings
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.io_manager import SafeIOManager
from mlops_demo.defs.monitoring.settings import MonitoringSettings
from mlops_demo.defs.training.settings import GateSettings, TrainingSettings

if TYPE_CHECKING:
    from mlops_demo.core.monitoring.faults import FaultLog

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


class StorageResource(dg.ConfigurableResource):
    """The backend (JSONL files or PostgreSQL) that holds the stores, the prediction log and the
    model registry, and the registry's key: the one place that chooses them."""

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

    def sensor_faults(self) -> FaultLog:
        """The sensor faults the drift check found, kept beside the registry."""
        from mlops_demo.core.monitoring.faults import FaultLog  # pandas: not at every run's start

        return FaultLog(self.backend.registry_storage())

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


class CodeLocationSettings(pydantic.BaseModel):
    """Plain settings, not a resource: Dagster needs them while it loads the code location (the
    executor, the sensors' interval and watch, the ingestion jobs' time limit), so a run cannot
    change them; set their variables and restart `dagster dev`."""

    executor: Literal["in_process", "multiprocess"] = Field(
        default="in_process",
        description="multiprocess runs each step in its own process (seconds per step here)",
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


STAGE_SETTINGS = {
    "ingestion_settings": IngestionSettings,
    "training_settings": TrainingSettings,
    "gate_settings": GateSettings,
    "deployment_settings": DeploymentSettings,
    "inference_settings": InferenceSettings,
    "monitoring_settings": MonitoringSettings,
    "housekeeping_settings": HousekeepingSettings,
}
Settings = TypeVar("Settings", bound=pydantic.BaseModel)


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
    cls: type[Settings], environ: Mapping[str, str] | None = None, *, bind_secrets: bool = False
) -> Settings:
    """The resource as the environment sets it; with `bind_secrets`, URLs as `dg.EnvVar`s, for
    the code location (Dagster resolves them when a run starts), else as values, for commands
    and import-time choices."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    if cls is StorageResource:
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
        "storage": from_env(StorageResource, environ, bind_secrets=True),
        **{key: from_env(cls, environ) for key, cls in STAGE_SETTINGS.items()},
        # Frames and registry entries as JSON: Dagster's default would pickle them.
        "io_manager": SafeIOManager(),
    }


# Every class a setting is a field of: the variables the README's settings table lists.
SETTINGS_CLASSES = (
    RabbitMQResource,
    StorageResource,
    CodeLocationSettings,
    *STAGE_SETTINGS.values(),
)


def check_every_setting(environ: Mapping[str, str] | None = None) -> None:
    """Raise SettingsError naming the first variable whose value no setting accepts."""
    for cls in SETTINGS_CLASSES:
        from_env(cls, environ)
