"""Shared by the benchmarks: private queues and fast setup publishing on the real broker."""

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pika

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.records import reading_of
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.transport import broker
from mlops_demo.defs.resources import RabbitMQResource, from_env

# The real data for benchmarks (its README in the same folder); never copied into the project.
REFERENCE_CSV = REPO_ROOT.parent / "shared" / "data" / "predictive_maintenance.csv"


def private_queue(prefix: str) -> str:
    return f"bench_{prefix}_{uuid.uuid4().hex[:8]}"


def broker_url() -> str:
    return from_env(RabbitMQResource).broker_url


def reading_bodies(n: int) -> list[bytes]:
    return [json.dumps(reading_of(x)).encode() for x in simulate(n)]


def fill_queue(url: str, queue: str, bodies: list[bytes]) -> None:
    """Setup only: publish without per-message confirms, then wait until the broker holds all."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    broker.declare(channel, queue)
    for body in bodies:
        channel.basic_publish("", queue, body, properties=broker.PERSISTENT)
    connection.close()
    deadline = time.monotonic() + 120
    while broker.queue_depth(url, queue) < len(bodies):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the broker never held {len(bodies)} messages in {queue}")
        time.sleep(0.2)


def peak_rss_mb() -> float:
    """This process's peak resident memory since its program started. Linux's VmHWM, because
    getrusage's ru_maxrss survives exec: a child started by a large parent would report at least
    the parent's size."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def cleanup(url: str, *queues: str) -> None:
    for queue in queues:
        broker.delete_queue(url, queue)


class CpuSnapshot(NamedTuple):
    broker_seconds: float  # CPU-seconds every RabbitMQ node on this machine has used so far
    idle_ticks: int  # the machine's idle time so far, every core
    ticks: int  # the machine's time so far, every core


def cpu_snapshot() -> CpuSnapshot:
    """What the broker and the machine have spent so far (Linux's /proc; NaN elsewhere)."""
    try:
        machine = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return CpuSnapshot(float("nan"), 0, 0)
    broker_ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split(" (", 1)[1].rsplit(") ", 1)
        except (OSError, IndexError, ValueError):
            continue  # the process ended while being read
        if name == "beam.smp":
            utime, stime = fields.split()[11:13]
            broker_ticks += int(utime) + int(stime)
    idle = machine[3] + machine[4]  # idle and waiting on I/O
    return CpuSnapshot(broker_ticks / os.sysconf("SC_CLK_TCK"), idle, sum(machine))


def broker_and_idle_since(start: CpuSnapshot) -> tuple[float, float]:
    """The broker's CPU-seconds since `start`, and how many cores the machine left idle on
    average meanwhile."""
    now = cpu_snapshot()
    ticks = now.ticks - start.ticks
    idle_cores = (now.idle_ticks - start.idle_ticks) / ticks * os.cpu_count() if ticks else 0.0
    return now.broker_seconds - start.broker_seconds, idle_cores


class TimedRun(NamedTuple):
    result: object  # dagster's ExecuteInProcessResult, imported only in the child
    seconds: float
    cpu_seconds: float  # this process's, every thread's: the broker's are not counted


def run_job_timed(
    job_name: str,
    run_config: dict | None = None,
    before_start: Callable[[], None] | None = None,
    definitions: object = None,
) -> TimedRun:
    """Run one of the code location's jobs (or of `definitions`, a dg.Definitions) in this
    process on a throwaway Dagster instance; returns the successful result and the run's
    seconds, imports excluded. The resources are built from the MLOPS_* variables as they are
    when it is called; `before_start` is called once everything is imported, just before the
    clock starts."""
    import dagster as dg

    from mlops_demo.definitions import build_definitions

    job = (definitions or build_definitions()).resolve_job_def(job_name)
    with dg.instance_for_test() as instance:
        if before_start is not None:
            before_start()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = job.execute_in_process(instance=instance, run_config=run_config)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert result.success
    return TimedRun(result, seconds, cpu)


@contextmanager
def private_dagster_dev(prefix: str, workspace: Path | None = None) -> Iterator[object]:
    """A started `dagster dev` (not yet answering) on a Dagster home, data directory and queues
    of its own, stopped and its queues deleted afterwards; the project's workspace unless
    given."""
    from mlops_demo.devserver.dagster_dev import WORKSPACE, DagsterDev

    tag = uuid.uuid4().hex[:8]
    queues = (f"bench_{prefix}_{tag}_readings", f"bench_{prefix}_{tag}_statuses")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(MLOPS_DATA_DIR=tmp, MLOPS_READINGS_QUEUE=queues[0],
                          MLOPS_STATUSES_QUEUE=queues[1])  # fmt: skip
        dev = DagsterDev(home=Path(tmp) / "home", workspace=workspace or WORKSPACE)
        try:
            dev.start()
            yield dev
        finally:
            dev.stop()
            cleanup(broker_url(), *queues)
