"""Ingestion throughput and peak memory: the real ingestion job against a raw pika loop.

    .venv/bin/python bench/ingest.py [--sizes 10000 100000] [--bodies good|huge|bad] [--repeat 3]

For each size and each of `--repeat` pairs, the same reading bodies are queued for each side on
a private queue of the same broker. `get_all_readings_job` drains one (queue -> landing batch ->
validated, deduplicated JSONL store, all fsync'd before each chunk's ack). A raw pika consumer
drains the other, appending bodies to a file and fsyncing and acking every 5,000 with two chunks
in flight: the drain's own pattern, without its work. Each side runs in a fresh process so its
peak RSS and CPU seconds are its own (the job's include Dagster's threads). Beside each side:
the CPU-seconds every RabbitMQ node on the machine spent meanwhile (`broker CPU s`; for the same
messages it takes one of two paces, about 1.1 or 2.5 CPU-seconds per 100,000 here, and the raw
loop's time follows it) and the cores the machine left idle on average (`idle cores`). Both
sides meet the broker in the same state: each process does its imports first, then its queue is
filled (the only queue of the pair then), then each waits SETTLE_SECONDS before its clock
starts, and its queue is deleted after it. Filling both queues first had one side drain right
after a fill and the other a whole run later, with one queue held or two. Setup publishing is
not timed. The figure is the median of the pairs' ratios, the sides' order alternating. Each
pair also runs the job on an empty queue: its run's fixed cost, which bounds the ratio even if
storing cost nothing (`median ceiling`).

`--bodies huge` replaces ten of the readings with 10 MB bodies, which the job quarantines by
their first 64 KiB; `--bodies bad` makes every body a distinct invalid reading (half not JSON,
half a reading whose torque is text), all quarantined. The raw loop appends whatever it gets.
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pika
from _common import (
    broker_and_idle_since,
    broker_url,
    cleanup,
    cpu_snapshot,
    fill_queue,
    peak_rss_mb,
    private_queue,
    ratio,
    reading_bodies,
    run_job_timed,
)

from mlops_demo.core.messages.streams import READINGS
from mlops_demo.core.transport.broker import DEFAULT_CHUNK_SIZE, PREFETCH_CHUNKS

# The drain's own chunk and prefetch, so the raw loop differs from the job only in the work.
RAW_BATCH = DEFAULT_CHUNK_SIZE
HUGE_BODIES, HUGE_BYTES = 10, 10 * 1024 * 1024
SETTLE_SECONDS = 2.0
JOB = "get_all_readings_job"


def bodies_of(kind: str, n: int) -> list[bytes]:
    if kind == "bad":
        return [
            f"not json {i}".encode()
            if i % 2
            else json.dumps({"UDI": i + 1, "Torque [Nm]": f"t{i}"}).encode()
            for i in range(n)
        ]
    bodies = reading_bodies(n)
    if kind == "huge":
        step = max(1, n // HUGE_BODIES)
        for i in range(0, step * HUGE_BODIES, step):
            bodies[i] = b'{"UDI": %d, "padding": "' % (i + 1) + b"x" * HUGE_BYTES + b'"}'
    return bodies


def _wait_for_go() -> None:
    """In a child: say its imports are done, then wait while the parent fills its queue."""
    print("ready", flush=True)
    sys.stdin.readline()


def _raw_child(url: str, queue: str, out: Path) -> dict:
    _wait_for_go()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    total = channel.queue_declare(queue, durable=True).method.message_count
    channel.basic_qos(prefetch_count=PREFETCH_CHUNKS * RAW_BATCH)
    started, cpu_started = time.perf_counter(), time.process_time()
    done = 0
    with open(out, "ab") as f:
        for method, _props, body in channel.consume(queue, inactivity_timeout=1.0):
            if method is None:
                break
            f.write(body + b"\n")
            done += 1
            if done % RAW_BATCH == 0 or done == total:
                f.flush()
                os.fsync(f.fileno())
                channel.basic_ack(method.delivery_tag, multiple=True)
            if done == total:
                break
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    channel.cancel()
    connection.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "messages": done, "peak_rss_mb": peak_rss_mb()}


def _job_child(url: str, queue: str, data_dir: Path) -> dict:
    os.environ.update(
        MLOPS_BROKER_URL=url,
        MLOPS_READINGS_QUEUE=queue,
        MLOPS_DATA_DIR=str(data_dir),
        MLOPS_REGISTRY_KEY_FILE=str(data_dir / "registry.key"),
    )
    run = run_job_timed(JOB, before_start=_wait_for_go)
    [drained] = [
        event.materialization.metadata["messages_received"].value
        for event in run.result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "sensor_readings"
    ]
    return {
        "seconds": run.seconds,
        "cpu_seconds": run.cpu_seconds,
        "messages": drained,
        "peak_rss_mb": peak_rss_mb(),
    }


FLOOR_JOB = "floor_job"


def floor_definitions():
    """Dagster's own cost of a run of the ingestion job's three assets and its checks, without
    the project: one step (the fewest any job of these assets can have) that drains nothing,
    stores nothing and checks nothing, but materializes the same assets and reports the same
    checks. No implementation of the job can cost less than this run."""
    import dagster as dg

    from mlops_demo.definitions import build_definitions
    from mlops_demo.defs.ingestion.assets import READINGS_NAMES

    job = build_definitions().resolve_job_def(JOB)
    raw, cleaned, historic = READINGS_NAMES.raw, READINGS_NAMES.cleaned, READINGS_NAMES.historic
    specs = [
        dg.AssetSpec(raw),
        dg.AssetSpec(cleaned, deps=[raw]),
        dg.AssetSpec(historic, deps=[cleaned]),
    ]
    check_keys = sorted(job.asset_layer.asset_graph.asset_check_keys, key=str)
    assert check_keys, f"{JOB} runs no checks"

    @dg.multi_asset(
        name="floor",
        specs=specs,
        check_specs=[dg.AssetCheckSpec(k.name, asset=k.asset_key) for k in check_keys],
    )
    def floor():
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key)
        for key in check_keys:
            yield dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True)

    return dg.Definitions(
        assets=[floor],
        jobs=[dg.define_asset_job(FLOOR_JOB, executor_def=dg.in_process_executor)],
    )


def _floor_child(_url: str, _queue: str, _path: Path) -> dict:
    run = run_job_timed(FLOOR_JOB, before_start=_wait_for_go, definitions=floor_definitions())
    return {
        "seconds": run.seconds,
        "cpu_seconds": run.cpu_seconds,
        "messages": 0,
        "peak_rss_mb": peak_rss_mb(),
    }


def _start_child(kind: str, url: str, queue: str, path: Path, env: dict | None = None):
    return subprocess.Popen(
        [sys.executable, __file__, "--child", kind, url, queue, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _ready(child: subprocess.Popen) -> subprocess.Popen:
    said = child.stdout.readline().strip()
    if said != "ready":
        child.kill()
        _stdout, stderr = child.communicate()
        raise RuntimeError(f"the child did not get ready (it said {said!r}): {stderr[-3000:]}")
    return child


def _go(child: subprocess.Popen) -> subprocess.Popen:
    child.stdin.write("go\n")
    child.stdin.flush()
    return child


def _result(child: subprocess.Popen) -> dict:
    stdout, stderr = child.communicate()
    if child.returncode != 0 or not stdout.strip():
        raise RuntimeError(stderr[-3000:])
    return json.loads(stdout.strip().splitlines()[-1])


def _in_child(
    kind: str,
    url: str,
    queue: str,
    path: Path,
    bodies: Sequence[bytes] = (),
    env: dict | None = None,
) -> dict:
    """One side: its process started and ready, then its queue filled, the broker left to
    settle, the side let go, and its queue deleted. Its figures include the broker's CPU-seconds
    and the machine's idle cores while it ran (the child's exit included)."""
    try:
        child = _ready(_start_child(kind, url, queue, path, env))
        if bodies:
            fill_queue(url, queue, bodies)
        time.sleep(SETTLE_SECONDS)
        start = cpu_snapshot()
        figures = _result(_go(child))
        figures["broker_cpu_seconds"], figures["idle_cores"] = broker_and_idle_since(start)
        return figures
    finally:
        cleanup(url, queue)


def scaling(n: int, consumers: int, postgres_url: str) -> None:
    """One consumer on the JSONL store against several on the PostgreSQL store, one queue each."""
    from mlops_demo.core.storage.postgres import PostgresStore

    url = broker_url()
    bodies = reading_bodies(n)
    single, shared = private_queue("jsonl"), private_queue("postgres")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(postgres_url, schema, "cleaned_readings", "quarantined_readings")
    pg_env = {"MLOPS_STORE_URL": postgres_url, "MLOPS_STORE_SCHEMA": schema}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            one = _in_child("job", url, single, Path(tmp) / "jsonl", bodies)
            children = [
                _ready(_start_child("job", url, shared, Path(tmp) / f"machine{i}", pg_env))
                for i in range(consumers)
            ]
            fill_queue(url, shared, bodies)
            time.sleep(SETTLE_SECONDS)
            started = time.perf_counter()
            for child in children:  # all let go before any is waited for: they run side by side
                _go(child)
            results = [_result(child) for child in children]
            wall = time.perf_counter() - started
            stored = store.row_count()
        finally:
            cleanup(url, single, shared)
            store.drop()
    assert stored == n, f"the PostgreSQL store holds {stored} of {n}"
    shares = ", ".join(f"{r['messages']:,}" for r in results)
    print(f"{n:,} readings, one queue each side")
    single_rate = n / one["seconds"]
    print(f"  1 consumer, JSONL store:        {single_rate:>8,.0f} msg/s ({one['seconds']:.2f} s)")
    # Like the single consumer's, each run is timed inside its process (imports excluded); the
    # consumers run side by side, so the slowest one's run time is the group's.
    slowest = max(r["seconds"] for r in results)
    print(f"  {consumers} consumers, PostgreSQL store: {n / slowest:>8,.0f} msg/s "
          f"({slowest:.2f} s; {wall:.2f} s wall from the signal; shares {shares})")  # fmt: skip
    print(f"  ratio {consumers} on PostgreSQL / 1 on JSONL: {ratio(one['seconds'], slowest)}")


def validating_seconds(bodies: list[bytes]) -> float:
    """The least storing can cost: each body decoded, validated and encoded once, nothing
    written (the best of three passes, in this process)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for body in bodies:
            READINGS.clean(body)
        best = min(best, time.perf_counter() - started)
    return best


class Pair(NamedTuple):
    ceiling: float  # raw / (raw + the job on an empty queue)
    floor: float  # raw / (raw + Dagster's floor)
    bound: float  # raw / (raw + Dagster's floor + validating every body once)
    raw_seconds: float
    job_seconds: float
    raw_broker_cpu: float  # the broker's CPU-seconds while the raw loop drained
    job_broker_cpu: float

    @property
    def ratio(self) -> float:
        """job / raw, in throughput."""
        return self.raw_seconds / self.job_seconds


# The broker's two paces are apart by about 2.2x here; a gap this wide between two sides'
# figures is a change of pace, anything narrower is noise within one.
PACE_GAP = 1.5


COLUMNS = ("msg/s", "seconds", "CPU s", "peak MB", "broker CPU s", "idle cores")
WIDTHS = (9, 8, 8, 8, 12, 10)


def _print_side(side: str, figures: dict) -> None:
    n, seconds = figures["messages"], figures["seconds"]
    rate = f"{n / seconds:,.0f}" if n else ""
    print(f"{n:>9,} {side:<16} {rate:>9} {seconds:>8.2f} {figures['cpu_seconds']:>8.2f} "
          f"{figures['peak_rss_mb']:>8.0f} {figures['broker_cpu_seconds']:>12.2f} "
          f"{figures['idle_cores']:>10.2f}")  # fmt: skip


def _pair(url: str, bodies: list[bytes], first_raw: bool) -> Pair:
    """The raw loop and the job on the same bodies, one after the other, then the job on an
    empty queue and Dagster's floor; prints all four and returns job/raw and the ceilings. The
    broker's own pace drifts by half within minutes: the order alternates and the median of
    several pairs is the figure to quote."""
    n = len(bodies)
    raw_queue, job_queue, empty_queue = (private_queue(side) for side in ("raw", "job", "empty"))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sides = [("raw", raw_queue, Path(tmp) / "raw.jsonl"), ("job", job_queue, Path(tmp))]
            measured = {
                kind: _in_child(kind, url, queue, path, bodies)
                for kind, queue, path in (sides if first_raw else sides[::-1])
            }
            empty = _in_child("job", url, empty_queue, Path(tmp) / "empty")
            floor = _in_child("floor", url, empty_queue, Path(tmp) / "floor")
        finally:
            cleanup(url, raw_queue, job_queue, empty_queue)
    for kind, side in (("raw", "raw pika loop"), ("job", "ingestion job")):
        figures = measured[kind]
        assert figures["messages"] == n, f"{side} handled {figures['messages']} of {n}"
        _print_side(side, figures)
    for figures, side in ((empty, "ingestion job"), (floor, "Dagster floor")):
        _print_side(side, figures)
    raw, validating = measured["raw"]["seconds"], validating_seconds(bodies)
    print(f"{n:>9,} {'validating only':<16} {n / validating:>9,.0f} {validating:>8.2f}")
    return Pair(
        ceiling=raw / (raw + empty["seconds"]),
        floor=raw / (raw + floor["seconds"]),
        bound=raw / (raw + floor["seconds"] + validating),
        raw_seconds=raw,
        job_seconds=measured["job"]["seconds"],
        raw_broker_cpu=measured["raw"]["broker_cpu_seconds"],
        job_broker_cpu=measured["job"]["broker_cpu_seconds"],
    )


def pace_threshold(broker_cpu: Sequence[float]) -> float | None:
    """The broker CPU-seconds that part its fast pace from its slow one: the middle of the
    widest gap between the sides' figures, if it is at least PACE_GAP wide; None if every side
    met one pace."""
    ordered = sorted(cpu for cpu in broker_cpu if cpu > 0)
    gaps = [(high / low, (low * high) ** 0.5) for low, high in itertools.pairwise(ordered)]
    widest, middle = max(gaps, default=(1.0, None))
    return middle if widest >= PACE_GAP else None


def _figures(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"


def print_by_pace(n: int, pairs: Sequence[Pair]) -> None:
    """Each side's time and each pair's ratio by the broker's pace during its sides."""
    threshold = pace_threshold(
        [p.raw_broker_cpu for p in pairs] + [p.job_broker_cpu for p in pairs]
    )
    if threshold is None:
        print(f"{n:>9,} the broker kept one pace for every side")
        return
    print(f"{n:>9,} by the broker's pace (fast: under {threshold:.2f} broker CPU-seconds)")

    def pace(cpu: float) -> str:
        return "fast" if cpu < threshold else "slow"

    for side, seconds, cpu in (("raw loop", "raw_seconds", "raw_broker_cpu"),
                               ("job", "job_seconds", "job_broker_cpu")):  # fmt: skip
        for name in ("fast", "slow"):
            times = [getattr(p, seconds) for p in pairs if pace(getattr(p, cpu)) == name]
            if times:
                print(f"{'':>10}{side} at the {name} pace, sides: {len(times)}, seconds "
                      f"{_figures(times)}")  # fmt: skip
    for paces in itertools.product(("fast", "slow"), repeat=2):
        ratios = [
            p.ratio for p in pairs if (pace(p.raw_broker_cpu), pace(p.job_broker_cpu)) == paces
        ]
        raw_pace, job_pace = paces
        if ratios:
            print(f"{'':>10}raw loop {raw_pace}, job {job_pace}, pairs: {len(ratios)}, job/raw "
                  f"{_figures(ratios)}")  # fmt: skip


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, url, queue, path = sys.argv[2:6]
        child = {"raw": _raw_child, "job": _job_child, "floor": _floor_child}[kind]
        print(json.dumps(child(url, queue, Path(path))))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--consumers", type=int, help="compare N consumers on PostgreSQL instead")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bodies", choices=("good", "huge", "bad"), default="good")
    parser.add_argument("--repeat", type=int, default=3, help="pairs per size")
    args = parser.parse_args()
    sizes = args.sizes
    if args.consumers:
        for n in sizes:
            scaling(n, args.consumers, args.postgres_url)
        return 0
    url = broker_url()
    print(f"{args.bodies} bodies, {args.repeat} pairs per size (the raw loop first in odd pairs)")
    print(f"{'messages':>9} {'side':<16} "
          + " ".join(f"{c:>{w}}" for c, w in zip(COLUMNS, WIDTHS, strict=True)))  # fmt: skip
    for n in sizes:
        bodies = bodies_of(args.bodies, n)
        pairs = [_pair(url, bodies, first_raw=i % 2 == 0) for i in range(args.repeat)]
        # If storing cost nothing and the job drained as fast as the raw loop, its run would
        # still cost what it costs with nothing to drain (ceiling); no job of these assets and
        # checks costs less than Dagster's floor (floor); and one that also validated every body
        # in series with pika, as one interpreter does, could not beat the bound.
        for field, label, meaning in (
            ("ratio", "median job/raw", ""),
            ("ceiling", "median ceiling", "raw / (raw + the job on an empty queue); "),
            ("floor", "median floor", "raw / (raw + Dagster's floor); "),
            ("bound", "median bound", "raw / (raw + floor + validating only); "),
        ):
            figures = [getattr(pair, field) for pair in pairs]
            print(f"{n:>9,} {label:<16} {statistics.median(figures):>9.2f} "
                  f"({meaning}pairs: {', '.join(f'{r:.2f}' for r in figures)})")  # fmt: skip
        print_by_pace(n, pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
