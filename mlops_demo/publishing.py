"""Publish machine readings or daily statuses to RabbitMQ, from the simulator or a CSV file.

Used by the scripts in sensor_data/: `python -m mlops_demo.publishing readings -n 500`, or with
`--interactive` to publish the next batch each time the user types `more`.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mlops_demo import records as r
from mlops_demo.broker import BrokerUnavailable, publish
from mlops_demo.settings import get_settings
from mlops_demo.simulator import DEFAULT_SEED, iter_records
from mlops_demo.streams import READINGS, STATUSES, Stream

BATCH = 500
PROGRESS_EVERY_SECONDS = 2.0

_CSV_TYPES: dict[str, Callable[[str], object]] = {
    r.UDI: int,
    r.AIR_TEMPERATURE: float,
    r.PROCESS_TEMPERATURE: float,
    r.ROTATIONAL_SPEED: int,
    r.TORQUE: float,
    r.TOOL_WEAR: int,
    r.TARGET: int,
}


@dataclass(frozen=True)
class Kind:
    noun: str
    message_of: Callable[[dict], dict]
    stream: Stream


KINDS = {
    "readings": Kind("readings", r.reading_of, READINGS),
    "statuses": Kind("statuses", r.status_of, STATUSES),
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
        missing = [c for c in r.ALL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(f"{path} lacks the columns: {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                yield {c: _CSV_TYPES.get(c, str)(row[c]) for c in r.ALL_COLUMNS}
            except ValueError as exc:
                raise SourceError(f"{path} line {line}: {exc}") from None


def iter_source(source: str, seed: int, offset: int) -> Iterator[dict]:
    """Records from `offset` on, from the simulator (`source == "simulator"`) or a CSV path."""
    records = iter_records(seed) if source == "simulator" else iter_csv(Path(source))
    return itertools.islice(records, offset, None)


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


def publish_batch(
    kind: Kind, records: Iterator[dict], n: int, url: str, queue: str, period: float, out: TextIO
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
        publish(url, queue, bodies, on_confirmed=count, period_seconds=period)
    except BrokerUnavailable:
        if confirmed:
            last = batch[confirmed - 1][r.UDI]
            print(f"{confirmed} {kind.noun} were confirmed (up to UDI {last})", file=out)
        raise
    if not batch:
        return 0, None, None
    return confirmed, batch[0][r.UDI], batch[confirmed - 1][r.UDI]


def _say_published(kind: Kind, confirmed: int, first: int | None, last: int | None, queue: str):
    if confirmed == 0:
        return f"no more {kind.noun} in the source"
    return f"published {confirmed} {kind.noun} (UDI {first}-{last}) to queue {queue!r}"


def interactive(kind: Kind, records: Iterator[dict], url: str, queue: str, period: float) -> int:
    prompt = f"Type 'more' to publish the next {BATCH} {kind.noun}, 'quit' to stop: "
    while True:
        print(prompt, end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            print()
            return 0
        command = line.strip().lower()
        if command in ("quit", "exit", "q"):
            return 0
        if command != "more":
            print(
                f"unknown command {command!r}: type 'more' for {BATCH} more {kind.noun}, or 'quit'"
            )
            continue
        try:
            result = publish_batch(kind, records, BATCH, url, queue, period, sys.stdout)
        except BrokerUnavailable as exc:
            print(f"error: {exc}; type 'more' to try again", flush=True)
            continue
        print(_say_published(kind, *result, queue), flush=True)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("-T", "--period", type=float, default=0.0, help="seconds between messages")
    parser.add_argument("-o", "--offset", type=int, default=0, help="records to skip first")
    parser.add_argument("-n", "--num-records", type=int, default=BATCH)
    parser.add_argument("--source", default="simulator", help="'simulator' or a CSV path")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="simulator seed")
    parser.add_argument("--url", default=settings.broker_url, help="broker URL")
    parser.add_argument("--queue", help="queue name (default: from the settings)")
    parser.add_argument("--interactive", action="store_true", help="publish on each 'more'")
    args = parser.parse_args(argv)
    if args.offset < 0 or args.num_records < 0 or args.period < 0:
        parser.error("--offset, --num-records and --period cannot be negative")
    kind = KINDS[args.kind]
    queue = args.queue or kind.stream.queue(settings)
    try:
        records = iter_source(args.source, args.seed, args.offset)
        if args.interactive:
            return interactive(kind, records, args.url, queue, args.period)
        result = publish_batch(
            kind, records, args.num_records, args.url, queue, args.period, sys.stderr
        )
    except (BrokerUnavailable, SourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(_say_published(kind, *result, queue))
    return 0


if __name__ == "__main__":
    sys.exit(main())
