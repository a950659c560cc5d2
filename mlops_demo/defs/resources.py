"""Dagster resources: the broker, the stores and the model registry.

Each field left unset falls back to the settings (`mlops_demo.core.settings`) when used;
`definitions.py` binds the ones set in the environment with `dg.EnvVar`, so the UI's resource page
shows which variable each value comes from, never the value of a secret.
"""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import dagster as dg

from mlops_demo.core import broker
from mlops_demo.core.landing import LandingArea
from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.settings import LANDING_DIR, Settings, get_settings, resolve_data_dir
from mlops_demo.core.store import Store, open_store
from mlops_demo.core.store.predictions import PredictionLog, open_prediction_log
from mlops_demo.core.streams import Stream


def _data_dir(configured: str | None) -> Path:
    return resolve_data_dir(configured) if configured else get_settings().data_dir


class RabbitMQResource(dg.ConfigurableResource):
    """The RabbitMQ broker holding the readings and daily statuses queues."""

    url: str | None = None
    readings_queue: str | None = None
    statuses_queue: str | None = None
    queue_type: str | None = None

    def _url(self) -> str:
        return self.url or get_settings().broker_url

    def queue_name(self, stream: Stream) -> str:
        return getattr(self, stream.queue_setting) or stream.queue(get_settings())

    def queue_depth(self, stream: Stream) -> int:
        return broker.queue_depth(self._url(), self.queue_name(stream), self.queue_type)

    def drain(self, stream: Stream, handle_chunk: Callable[[list[bytes]], object]) -> int:
        return broker.drain(
            self._url(), self.queue_name(stream), handle_chunk, queue_type=self.queue_type
        )


class StoreResource(dg.ConfigurableResource):
    """Where cleaned records, quarantined messages and landing batches are kept: JSONL files in
    the data directory, or PostgreSQL when `url` is a postgresql:// URL."""

    url: str | None = None
    db_schema: str | None = None
    data_dir: str | None = None

    def _settings(self) -> Settings:
        settings = get_settings()
        return replace(
            settings,
            data_dir=_data_dir(self.data_dir),
            store_url=self.url or settings.store_url,
            store_schema=self.db_schema or settings.store_schema,
        )

    def open(self, stream: Stream) -> Store:
        return open_store(stream, self._settings())

    def predictions(self) -> PredictionLog:
        """The log of every prediction, beside the stores."""
        return open_prediction_log(self._settings())

    def landing(self, stream: Stream) -> LandingArea:
        """This machine's landing area for the stream, always on local disk."""
        return LandingArea(_data_dir(self.data_dir) / LANDING_DIR / stream.name)


class ModelRegistryResource(dg.ConfigurableResource):
    """The model registry: trained-models/ in the data directory."""

    data_dir: str | None = None

    def open(self) -> ModelRegistry:
        return ModelRegistry(_data_dir(self.data_dir))
