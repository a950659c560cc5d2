"""The two message streams and everything that is named once per stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlops_demo import records as r
from mlops_demo import settings as s
from mlops_demo.cleaning import validate_reading, validate_status


@dataclass(frozen=True)
class Stream:
    name: str
    fields: tuple[str, ...]
    validate: Callable[[dict], dict]
    store_file: str
    quarantine_file: str
    # The Settings field (and RabbitMQResource field) that names this stream's queue.
    queue_setting: str

    def queue(self, settings: s.Settings) -> str:
        return getattr(settings, self.queue_setting)


READINGS = Stream(
    name="readings",
    fields=r.READING_FIELDS,
    validate=validate_reading,
    store_file=s.READINGS_STORE_FILE,
    quarantine_file=s.READINGS_QUARANTINE_FILE,
    queue_setting="readings_queue",
)
STATUSES = Stream(
    name="daily_statuses",
    fields=r.STATUS_FIELDS,
    validate=validate_status,
    store_file=s.STATUSES_STORE_FILE,
    quarantine_file=s.STATUSES_QUARANTINE_FILE,
    queue_setting="statuses_queue",
)
