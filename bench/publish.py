"""Publishing throughput: the project's publisher against raw pika loops, same run, same broker.

    .venv/bin/python bench/publish.py [--messages 100000]

All publish the same persistent reading bodies to private queues: a raw loop without any
confirmation (the broker's ceiling; nothing says the messages are on disk), a raw loop waiting
for each message's confirm (what the project did before), and the project's publisher, whose
transactions of 500 are answered only once every message of them is on disk, simulator included.
"""

import argparse
import io
import sys
import time

import pika
from _common import broker_url, cleanup, private_queue, ratio, reading_bodies

from mlops_demo.core import broker
from mlops_demo.core.publishing import KINDS, iter_source, publish_batch


def raw_pika(url: str, queue: str, bodies: list[bytes], confirm: bool) -> float:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    broker.declare(channel, queue)
    if confirm:
        channel.confirm_delivery()
    started = time.perf_counter()
    for body in bodies:
        channel.basic_publish("", queue, body, properties=broker.PERSISTENT)
    if not confirm:  # until the broker holds them all, or the figure flatters the loop
        while broker.queue_depth(url, queue) < len(bodies):
            time.sleep(0.01)
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def project(url: str, queue: str, n: int) -> float:
    records = iter_source("simulator", seed=42, offset=0)
    started = time.perf_counter()
    confirmed, _, _ = publish_batch(KINDS["readings"], records, n, url, queue, 0.0, io.StringIO())
    seconds = time.perf_counter() - started
    assert confirmed == n
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    n = parser.parse_args().messages
    url = broker_url()
    queues = [private_queue(name) for name in ("unconfirmed", "confirmed", "project")]
    try:
        bodies = reading_bodies(n)
        unconfirmed = raw_pika(url, queues[0], bodies, confirm=False)
        confirmed = raw_pika(url, queues[1], bodies, confirm=True)
        ours = project(url, queues[2], n)
        assert [broker.queue_depth(url, queue) for queue in queues] == [n, n, n]
    finally:
        cleanup(url, *queues)
    print(f"publish {n:,} persistent readings")
    print(f"  raw loop, unconfirmed:      {n / unconfirmed:9,.0f} msg/s ({unconfirmed:.1f} s)")
    print(f"  raw loop, each confirmed:   {n / confirmed:9,.0f} msg/s ({confirmed:.1f} s)")
    print(
        f"  project, 500 per commit:    {n / ours:9,.0f} msg/s ({ours:.1f} s, simulator included)"
    )
    print(f"  project / unconfirmed: {ratio(n / ours, n / unconfirmed)}; "
          f"project / each confirmed: {ratio(n / ours, n / confirmed)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
