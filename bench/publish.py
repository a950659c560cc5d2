"""Publishing throughput: the project's publisher against raw pika loops, same run, same broker.

    .venv/bin/python bench/publish.py [--messages 100000] [--repeat 3]

All publish the same persistent reading bodies to private queues, in alternating rounds, and
print each method's median rate:
- a raw loop without any confirmation (the broker's ceiling; nothing says the messages are on
  disk);
- a transaction per 500 messages (the method the publisher used before: RabbitMQ answers
  tx.commit only once every message of it is on disk);
- the project's `broker.publish`: asynchronous publisher confirms, up to CONFIRM_WINDOW in
  flight (the broker acks a persistent message only once it is on disk);
- the project's whole command path, `publish_batch` from the simulator (simulating and encoding
  the records included).
A raw loop waiting for each message's confirm runs once on a tenth of the messages.
"""

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable

import pika
from _common import broker_url, cleanup, private_queue, ratio, reading_bodies

from mlops_demo.core.transport import broker
from mlops_demo.core.transport.publishing import KINDS, iter_source, publish_batch


def _timed(url: str, queue: str, n: int, publish: Callable[[], None]) -> float:
    started = time.perf_counter()
    publish()
    while broker.queue_depth(url, queue) < n:  # until the broker holds them all
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    broker.purge(url, queue)
    return seconds


def raw_loop(url: str, queue: str, bodies: list[bytes], mode: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    broker.declare(channel, queue)
    if mode == "each confirmed":
        channel.confirm_delivery()
    if mode == "transaction per 500":
        channel.tx_select()
    for i, body in enumerate(bodies, start=1):
        if mode == "transaction per 500":
            channel._impl.basic_publish("", queue, body, properties=broker.PERSISTENT)
            if i % 500 == 0 or i == len(bodies):
                channel.tx_commit()
        else:
            channel.basic_publish("", queue, body, properties=broker.PERSISTENT)
    connection.close()


def command_path(url: str, queue: str, n: int) -> None:
    records = iter_source("simulator", seed=42, offset=0)
    confirmed, _, _ = publish_batch(KINDS["readings"], records, n, url, queue, 0.0, io.StringIO())
    assert confirmed == n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, url, queue = args.messages, broker_url(), private_queue("publish")
    bodies = reading_bodies(n)
    methods = {
        "raw loop, unconfirmed": lambda: raw_loop(url, queue, bodies, "unconfirmed"),
        "transaction per 500 (before)": lambda: raw_loop(url, queue, bodies, "transaction per 500"),
        "project, confirms in flight": lambda: broker.publish(url, queue, bodies),
        "project command, from simulator": lambda: command_path(url, queue, n),
    }
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    try:
        for _ in range(args.repeat):
            for name, publish in methods.items():
                seconds[name].append(_timed(url, queue, n, publish))
        tenth = bodies[: max(n // 10, 1)]
        each = _timed(url, queue, len(tenth), lambda: raw_loop(url, queue, tenth, "each confirmed"))
    finally:
        cleanup(url, queue)
    rates = {name: n / statistics.median(s) for name, s in seconds.items()}
    ceiling = rates["raw loop, unconfirmed"]
    print(f"publish {n:,} persistent readings, median of {args.repeat} alternating rounds")
    for name, rate in rates.items():
        print(f"  {name:<34} {rate:9,.0f} msg/s  {ratio(rate, ceiling)}x unconfirmed")
    print(f"  {'raw loop, each confirmed':<34} {len(tenth) / each:9,.0f} msg/s  "
          f"({len(tenth):,} messages)")  # fmt: skip
    before = rates["transaction per 500 (before)"]
    print(f"  project / transaction per 500: {ratio(rates['project, confirms in flight'], before)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
