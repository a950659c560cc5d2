"""`mlops-demo publish`: readings or statuses to RabbitMQ, in one go or on each `more`."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.core.plant.simulator import DEFAULT_SEED, SCENARIOS
from mlops_demo.core.transport.broker import BrokerUnavailable
from mlops_demo.core.transport.publishing import (
    BATCH,
    KINDS,
    Kind,
    PartlyPublished,
    SourceError,
    iter_source,
    publish_batch,
    say_published,
)
from mlops_demo.defs.resources import RabbitMQResource, from_env


def publish_on_more(
    kind: Kind, records: Iterator[dict], url: str, queue: str, period: float, queue_type: str
) -> int:
    prompt = f"Type 'more' to publish the next {BATCH} {kind.noun}, 'quit' to stop: "
    unconfirmed: list[dict] = []  # of a batch the broker cut off: they go first next time
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
        batch = itertools.chain(unconfirmed, records)
        try:
            result = publish_batch(kind, batch, BATCH, url, queue, period, sys.stdout, queue_type)
        except PartlyPublished as exc:
            unconfirmed = exc.unconfirmed
            print(f"error: {exc}; type 'more' to publish the {len(unconfirmed)} unconfirmed "
                  f"{kind.noun} again, then new ones", flush=True)  # fmt: skip
            continue
        unconfirmed = []
        print(say_published(kind, *result, queue), flush=True)


@click.command()
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("-n", "--num-records", type=click.IntRange(min=0), default=BATCH, show_default=True)
@click.option("-o", "--offset", type=click.IntRange(min=0), default=0, help="records to skip first")
@click.option(
    "-T", "--period", type=click.FloatRange(min=0), default=0.0, help="seconds between messages"
)
@click.option("--source", default="simulator", show_default=True, help="'simulator' or a CSV path")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="simulator seed")
@click.option(
    "--scenario",
    type=click.Choice(sorted(SCENARIOS)),
    help="make the readings drift: "
    + "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values()),
)
@click.option("--url", help="broker URL (default: MLOPS_BROKER_URL)")
@click.option("--queue", help="queue name (default: MLOPS_READINGS_QUEUE or MLOPS_STATUSES_QUEUE)")
@click.option("--interactive", is_flag=True, help=f"publish the next {BATCH} on each 'more'")
def publish(
    kind: str,
    num_records: int,
    offset: int,
    period: float,
    source: str,
    seed: int,
    scenario: str | None,
    url: str | None,
    queue: str | None,
    interactive: bool,
) -> None:
    """Publish machine readings or daily statuses to RabbitMQ, from the simulator or a CSV file
    in the reference format. Every message is persistent, and reported as published only once
    the broker has confirmed it on disk (asynchronous publisher confirms).

    \b
    Examples:
      mlops-demo publish readings -n 500            # UDI 1-500 from the simulator
      mlops-demo publish statuses -o 500 -n 500     # the statuses of UDI 501-1000
      mlops-demo publish readings --interactive     # 500 more each time you type 'more'
      mlops-demo publish readings --source ../shared/data/predictive_maintenance.csv
      mlops-demo publish readings -o 1500 --scenario torque-sensor-drift
    """
    rabbitmq = from_env(RabbitMQResource)
    chosen = KINDS[kind]
    url = url or rabbitmq.broker_url
    queue = queue or rabbitmq.queue_name(chosen.stream)
    try:
        records = iter_source(source, seed, offset, scenario)
        if interactive:
            sys.exit(publish_on_more(chosen, records, url, queue, period, rabbitmq.queue_type))
        result = publish_batch(
            chosen, records, num_records, url, queue, period, sys.stderr, rabbitmq.queue_type
        )
    except (BrokerUnavailable, SourceError) as exc:
        raise CommandError(str(exc)) from None
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(say_published(chosen, *result, queue))
