"""Dagster resources: the broker and the data directory, both defaulting to the settings."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from mlops_demo import broker
from mlops_demo.landing import LandingArea
from mlops_demo.pg_store import PostgresStore
from mlops_demo.registry import ModelRegistry
from mlops_demo.settings import LANDING_DIR, get_settings
from mlops_demo.store import JsonlStore
from mlops_demo.stores import open_store
from mlops_demo.streams import Stream


class RabbitMQResource(dg.ConfigurableResource):
    """The RabbitMQ broker. Unset fields come from the environment when used, so the broker's
    credentials never appear in run config or in the UI."""

    url: str | None = None
    readings_queue: str | None = None
    statuses_queue: str | None = None

    def _url(self) -> str:
        return self.url or get_settings().broker_url

    def queue_name(self, stream: Stream) -> str:
        return getattr(self, stream.queue_setting) or stream.queue(get_settings())

    def queue_depth(self, stream: Stream) -> int:
        return broker.queue_depth(self._url(), self.queue_name(stream))

    def drain(self, stream: Stream, handle_chunk: Callable[[list[bytes]], object]) -> int:
        return broker.drain(self._url(), self.queue_name(stream), handle_chunk)


class DataDirResource(dg.ConfigurableResource):
    """The folder holding the stores, the landing area and trained-models/."""

    data_dir: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else get_settings().data_dir

    def store(self, stream: Stream) -> JsonlStore | PostgresStore:
        """The configured store: PostgreSQL when MLOPS_STORE_URL is a postgresql:// URL."""
        return open_store(stream, self.path, get_settings())

    def landing(self, stream: Stream) -> LandingArea:
        return LandingArea(self.path / LANDING_DIR / stream.name)

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.path)
