"""The queue-depth sensor each stream gets: it launches the stream's job once its queue holds a
full batch, or when landed batches wait to be stored after a failed run."""

import time
from datetime import UTC, datetime

import dagster as dg

from mlops_demo.core.messages.streams import Stream
from mlops_demo.core.transport.broker import BrokerUnavailable, QueueTypeMismatch
from mlops_demo.defs.automation import DAEMON_LOOP_SECONDS, IN_FLIGHT, daemon_interval
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.resources import CodeLocationSettings, RabbitMQResource, StorageResource

# After failed runs the next is requested this long after the last failure, doubling with each
# failure in a row up to the most: a broken code location or a full disk fails a few runs, not
# one every tick, and a passing fault is retried within seconds.
FIRST_RETRY_SECONDS = 5
MOST_RETRY_SECONDS = 60
# Enough newest runs to count failures in a row until the wait reaches its most.
FAILURES_COUNTED = 5
# A tick still in flight at a daemon's wake-up makes the sensor wait for the one after: a
# watching tick ends this long before the next wake-up, leaving room for the gRPC call and the
# run request.
TICK_MARGIN_SECONDS = 1.5
# How often a tick that found a run in flight looks again whether it has finished.
RUN_POLL_SECONDS = 0.25


def watch_seconds(settings: CodeLocationSettings) -> float:
    """How long a queue sensor's tick watches for a full batch: the setting, ending in time for
    the next tick."""
    cycle = max(settings.sensor_interval_seconds, DAEMON_LOOP_SECONDS)
    return min(settings.sensor_watch_seconds, max(0.0, cycle - TICK_MARGIN_SECONDS))


def _run_in_flight(
    context: dg.SensorEvaluationContext, job_name: str, deadline: float
) -> dg.DagsterRun | None:
    """The job's run still queued or running at `deadline`, if any: it stops looking as soon as
    none is, so a batch that arrived during a run is launched the moment the run ends."""
    while True:
        in_flight = context.instance.get_run_records(
            dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=1
        )
        left = deadline - time.monotonic()
        if not in_flight or left <= 0:
            return in_flight[0].dagster_run if in_flight else None
        time.sleep(min(RUN_POLL_SECONDS, left))


def _retry_at(context: dg.SensorEvaluationContext, job_name: str) -> float | None:
    """When the job may be requested again, if its newest runs failed and that is still ahead."""
    newest = context.instance.get_run_records(
        dg.RunsFilter(job_name=job_name), limit=FAILURES_COUNTED
    )
    in_a_row = 0
    for record in newest:
        if record.dagster_run.status != dg.DagsterRunStatus.FAILURE:
            break
        in_a_row += 1
    if not in_a_row:
        return None
    wait = min(MOST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (in_a_row - 1))
    retry = (newest[0].end_time or 0.0) + wait
    return retry if retry > time.time() else None


def _waiting_after_failures(job_name: str, retry: float, what: str) -> dg.SkipReason:
    return dg.SkipReason(
        f"{what}, but the last run of {job_name} failed: trying again at "
        f"{datetime.fromtimestamp(retry, UTC):%H:%M:%S} UTC"
    )


def _full_queue_request(
    context: dg.SensorEvaluationContext, job_name: str, queue: str, depth: int
) -> dg.RunRequest | dg.SkipReason:
    retry = _retry_at(context, job_name)
    if retry is not None:
        return _waiting_after_failures(job_name, retry, f"queue {queue!r} holds {depth} messages")
    context.log.info(f"queue {queue!r} holds {depth} messages: requesting {job_name}")
    return dg.RunRequest(tags={"mlops_demo/queue_depth": str(depth)})


def _backlog_request(
    context: dg.SensorEvaluationContext, job_name: str, waiting: int, depth: str
) -> dg.RunRequest | dg.SkipReason:
    """A run for batches landed and acked but not stored (a `cleaned_*` run failed), so they
    are stored once the cause is gone, without waiting for a new batch of messages."""
    retry = _retry_at(context, job_name)
    if retry is not None:
        return _waiting_after_failures(
            job_name, retry, f"{depth}; {waiting} landed batches wait to be stored"
        )
    context.log.info(f"{waiting} landed batches wait to be stored: requesting {job_name}")
    return dg.RunRequest(tags={"mlops_demo/landed_batches": str(waiting)})


def queue_depth_sensor(
    name: str, job_name: str, stream: Stream, loaded_with: CodeLocationSettings
) -> dg.SensorDefinition:
    """A sensor requesting `job_name` when `stream`'s queue holds at least the minimum batch, or
    when landed batches wait to be stored.

    A tick watches the queue (and a run in flight) for `sensor_watch_seconds` rather than looking
    once, so a batch waits a fraction of a second for its run instead of up to the daemon's 5 s."""

    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=daemon_interval(loaded_with.sensor_interval_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Launches {job_name} when the {stream.name} queue holds a full batch, or "
        "when landed batches wait to be stored after a failed run.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        rabbitmq: RabbitMQResource,
        storage: StorageResource,
        ingestion_settings: IngestionSettings,
    ):
        deadline = time.monotonic() + watch_seconds(loaded_with)
        run = _run_in_flight(context, job_name, deadline)
        if run is not None:
            return dg.SkipReason(
                f"run {run.run_id[:8]} of {job_name} is {run.status.value.lower()}; "
                "waiting for it to finish before requesting another"
            )
        queue = rabbitmq.queue_name(stream)
        minimum = ingestion_settings.min_batch
        try:
            depth = rabbitmq.wait_for_depth(stream, minimum, max(0.0, deadline - time.monotonic()))
        except BrokerUnavailable as exc:
            return dg.SkipReason(f"{exc}; trying again on the next tick")
        except QueueTypeMismatch as exc:
            return dg.SkipReason(str(exc))  # it names the setting and the fix
        if depth >= minimum:
            return _full_queue_request(context, job_name, queue, depth)
        holds = f"queue {queue!r} holds {depth} messages; a run starts at {minimum}"
        waiting = len(storage.landing(stream).batches())
        if waiting:
            return _backlog_request(context, job_name, waiting, holds)
        return dg.SkipReason(holds)

    return _sensor
