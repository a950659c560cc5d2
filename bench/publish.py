"""Publishing throughput: the project's publisher against a raw pika loop with confirms.

    .venv/bin/python bench/publish.py [--messages 100000]

Both publish the same persistent reading bodies with publisher confirms to private queues on the
same broker, in the same run.
"""

import argparse
import io
import sys
import time

import pika
from _common import broker_url, cleanup, private_queue, ratio, reading_bodies

from mlops_demo.core import broker
from mlops_demo.core.publishing import KINDS, iter_source, publish_batch


def raw_pika(url: str, queue: str, bodies: list[bytes]) -> float:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    broker.declare(channel, queue)
    channel.confirm_delivery()
    started = time.perf_counter()
    for body in bodies:
        channel.basic_publish("", queue, body, properties=broker.PERSISTENT)
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
    raw_queue, project_queue = private_queue("raw"), private_queue("project")
    try:
        bodies = reading_bodies(n)
        raw = raw_pika(url, raw_queue, bodies)
        ours = project(url, project_queue, n)
        assert broker.queue_depth(url, raw_queue) == broker.queue_depth(url, project_queue) == n
    finally:
        cleanup(url, raw_queue, project_queue)
    print(f"publish {n:,} readings with confirms")
    print(f"  raw pika loop:     {n / raw:9,.0f} msg/s ({raw:.1f} s)")
    print(f"  project publisher: {n / ours:9,.0f} msg/s ({ours:.1f} s, simulator included)")
    print(f"  ratio project/raw: {ratio(n / ours, n / raw)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
