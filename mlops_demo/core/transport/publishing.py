"""Publishing machine readings or daily statuses to RabbitMQ, from the simulator or a CSV file.

`mlops-demo publish` (and the scripts in sensor_data/ that call it) is the command around it.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    ALL_COLUMNS,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
    UDI,
    reading_of,
    status_of,
)
from mlops_demo.core.messages.streams import READINGS, STATUSES, Stream
from mlops_demo.core.plant.simulator import iter_records, iter_scenario
from mlops_demo.core.transport.broker import BrokerUnavailable, publish

BATCH = 500
PROGRESS_EVERY_SECONDS = 2.0

_CSV_TYPES: dict[str, Callable[[str], object]] = {
    UDI: int,
    AIR_TEMPERATURE: float,
    PROCESS_TEMPERATURE: float,
    ROTATIONAL_SPEED: int,
    TORQUE: float,
    TOOL_WEAR: int,
    TARGET: int,
}


@dataclass(frozen=True)
class Kind:
    noun: str
    message_of: Callable[[dict], dict]
    stream: Stream


KINDS = {
    "readings": Kind("readings", reading_of, READINGS),
    "statuses": Kind("statuses", status_of, STATUSES),
}


class SourceError(ValueError):
    """The CSV source cannot be read as reference-format records."""


def iter_csv(path: Path) -> Iterator[dict]:
    """Records from a CSV in the reference format (a UTF-8 byte-order mark is allowed)."""
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ALL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(f"{path} lacks the columns: {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                yield {c: _CSV_TYPES.get(c, str)(row[c]) for c in ALL_COLUMNS}
            except ValueError as exc:
                raise SourceError(f"{path} line {line}: {exc}") from None


def iter_source(source: str, seed: int, offset: int, scenario: str | None = None) -> Iterator[dict]:
    """Records from `offset` on, from the simulator (`source == "simulator"`) or a CSV path, as
    the named drift scenario reports them (statuses are the same in every scenario)."""
    records = iter_records(seed) if source == "simulator" else iter_csv(Path(source))
    return iter_scenario(itertools.islice(records, offset, None), scenario)


class Progress:
    """Prints the count and rate every few seconds, for runs long enough to wonder about."""

    def __init__(self, total: int, noun: str, out: TextIO):
        self.total, self.noun, self.out = total, noun, out
        self.started = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            rate = done / (now - self.started)
            print(f"  {done:,}/{self.total:,} {self.noun} published ({rate:,.0f}/s)", file=self.out)


class PartlyPublished(BrokerUnavailable):
    """The broker went away mid-batch; `unconfirmed` are the records it may not hold."""

    def __init__(self, message: str, unconfirmed: list[dict]):
        super().__init__(message)
        self.unconfirmed = unconfirmed


def publish_batch(
    kind: Kind,
    records: Iterator[dict],
    n: int,
    url: str,
    queue: str,
    period: float,
    out: TextIO,
    queue_type: str | None = None,
) -> tuple[int, int | None, int | None]:
    """Publish up to n records; returns (confirmed count, first UDI, last UDI confirmed)."""
    batch = list(itertools.islice(records, n))
    bodies = (json.dumps(kind.message_of(rec)).encode() for rec in batch)
    confirmed = 0

    def count(done: int) -> None:
        nonlocal confirmed
        confirmed = done
        progress(done)

    progress = Progress(len(batch), kind.noun, out)
    try:
        publish(
            url, queue, bodies, on_confirmed=count, period_seconds=period, queue_type=queue_type
        )
    except BrokerUnavailable as exc:
        if confirmed:
            last = batch[confirmed - 1][UDI]
            print(f"{confirmed} {kind.noun} were confirmed (up to UDI {last})", file=out)
        raise PartlyPublished(str(exc), batch[confirmed:]) from None
    if not batch:
        return 0, None, None
    return confirmed, batch[0][UDI], batch[confirmed - 1][UDI]


def say_published(
    kind: Kind, confirmed: int, first: int | None, last: int | None, queue: str
) -> str:
    if confirmed == 0:
        return f"no more {kind.noun} in the source"
    return f"published {confirmed} {kind.noun} (UDI {first}-{last}) to queue {queue!r}"
