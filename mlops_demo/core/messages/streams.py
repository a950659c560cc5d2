"""The two message streams and everything that is named once per stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlops_demo.core.common.locations import (
    READINGS_QUARANTINE_FILE,
    READINGS_STORE_FILE,
    STATUSES_QUARANTINE_FILE,
    STATUSES_STORE_FILE,
)
from mlops_demo.core.messages.cleaning import Cleaned, clean_reading, clean_status
from mlops_demo.core.messages.records import READING_FIELDS, STATUS_FIELDS


@dataclass(frozen=True)
class Stream:
    name: str
    fields: tuple[str, ...]
    clean: Callable[[bytes], Cleaned]
    store_file: str
    quarantine_file: str
    # The RabbitMQResource field that names this stream's queue.
    queue_setting: str


READINGS = Stream(
    name="readings",
    fields=READING_FIELDS,
    clean=clean_reading,
    store_file=READINGS_STORE_FILE,
    quarantine_file=READINGS_QUARANTINE_FILE,
    queue_setting="readings_queue",
)
STATUSES = Stream(
    name="daily_statuses",
    fields=STATUS_FIELDS,
    clean=clean_status,
    store_file=STATUSES_STORE_FILE,
    quarantine_file=STATUSES_QUARANTINE_FILE,
    queue_setting="statuses_queue",
)
STREAMS = (READINGS, STATUSES)
