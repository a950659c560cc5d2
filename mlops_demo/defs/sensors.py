"""Sensors: the queue-depth sensor each stream gets, and the automation sensor for the rest."""

import json
import time
from datetime import UTC, datetime

import dagster as dg

from mlops_demo.core.broker import BrokerUnavailable, QueueTypeMismatch
from mlops_demo.core.streams import Stream
from mlops_demo.defs.resources import RabbitMQResource, SettingsResource

# After a failed run, landed batches are retried this long later, not on every tick.
BACKLOG_RETRY_SECONDS = 60
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def daemon_interval(seconds: int) -> int:
    """The minimum_interval_seconds that makes a sensor tick every `seconds`.

    Dagster's sensor daemon wakes every 5 s and skips a sensor whose last tick began less than its
    minimum interval ago; the last tick began a few milliseconds into the previous wake-up, so a
    5 s minimum is often "not yet" and the sensor ticks every 10 s instead. One second less
    makes it tick at every wake-up (measured: ticks 5 s apart instead of alternating 5 and 10).
    """
    return max(1, seconds - 1)


def _recent_failure(context: dg.SensorEvaluationContext, job_name: str) -> float | None:
    """When the job's newest run failed, if it failed less than BACKLOG_RETRY_SECONDS ago."""
    newest = context.instance.get_run_records(dg.RunsFilter(job_name=job_name), limit=1)
    if not newest or newest[0].dagster_run.status != dg.DagsterRunStatus.FAILURE:
        return None
    ended = newest[0].end_time or 0.0
    return ended if time.time() - ended < BACKLOG_RETRY_SECONDS else None


def _backlog_request(
    context: dg.SensorEvaluationContext, job_name: str, waiting: int, depth: str
) -> dg.RunRequest | dg.SkipReason:
    """A run for batches landed and acked but not stored (a `cleaned_*` run failed), so they
    are stored once the cause is gone, without waiting for a new batch of messages."""
    failed_at = _recent_failure(context, job_name)
    if failed_at is not None:
        retry = datetime.fromtimestamp(failed_at + BACKLOG_RETRY_SECONDS, UTC)
        return dg.SkipReason(
            f"{depth}; {waiting} landed batches wait to be stored, but the last run of "
            f"{job_name} failed: trying again at {retry:%H:%M:%S} UTC"
        )
    context.log.info(f"{waiting} landed batches wait to be stored: requesting {job_name}")
    return dg.RunRequest(tags={"mlops_demo/landed_batches": str(waiting)})


def queue_depth_sensor(
    name: str, job_name: str, stream: Stream, interval_seconds: int
) -> dg.SensorDefinition:
    """A sensor requesting `job_name` when `stream`'s queue holds at least the minimum batch, or
    when landed batches wait to be stored."""

    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=daemon_interval(interval_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Launches {job_name} when the {stream.name} queue holds a full batch, or "
        "when landed batches wait to be stored after a failed run.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        rabbitmq: RabbitMQResource,
        settings: SettingsResource,
    ):
        in_flight = context.instance.get_run_records(
            dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=1
        )
        if in_flight:
            run = in_flight[0].dagster_run
            return dg.SkipReason(
                f"run {run.run_id[:8]} of {job_name} is {run.status.value.lower()}; "
                "waiting for it to finish before requesting another"
            )
        queue = rabbitmq.queue_name(stream)
        try:
            depth = rabbitmq.queue_depth(stream)
        except BrokerUnavailable as exc:
            return dg.SkipReason(f"{exc}; trying again on the next tick")
        except QueueTypeMismatch as exc:
            return dg.SkipReason(str(exc))  # it names the setting and the fix
        minimum = settings.min_batch
        if depth >= minimum:
            context.log.info(f"queue {queue!r} holds {depth} messages: requesting {job_name}")
            return dg.RunRequest(tags={"mlops_demo/queue_depth": str(depth)})
        holds = f"queue {queue!r} holds {depth} messages; a run starts at {minimum}"
        waiting = len(settings.landing(stream).batches())
        if waiting:
            return _backlog_request(context, job_name, waiting, holds)
        return dg.SkipReason(holds)

    return _sensor


def default_automation_condition_sensor(interval_seconds: int) -> dg.SensorDefinition:
    """Dagster's automatic automation sensor starts stopped and ticks every 30 s; this one runs
    from the start and ticks with the others, so candidates and devices at risk follow their
    inputs promptly."""
    return dg.AutomationConditionSensorDefinition(
        "default_automation_condition_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=daemon_interval(interval_seconds),
    )


# Closing the loop: off by default, like the schedule, because retraining costs and a retrained
# model still waits for a person to deploy it.
RETRAIN_TRIGGERS = (
    dg.AssetCheckKey(dg.AssetKey("cleaned_readings"), "cleaned_readings_resemble_training_data"),
    dg.AssetCheckKey(
        dg.AssetKey("deployed_model_performance"), "deployed_model_performance_realized_f1_holds"
    ),
)


def _retrain_on_drift_or_decay(context: dg.SensorEvaluationContext):
    seen = json.loads(context.cursor or "{}")
    failed = []
    for key in RETRAIN_TRIGGERS:
        record = context.instance.get_latest_asset_check_evaluation_record(key)
        if record is None or record.id <= seen.get(key.name, 0):
            continue
        seen[key.name] = record.id
        if record.status.value == "FAILED":
            failed.append(key.name)
    context.update_cursor(json.dumps(seen))
    if not failed:
        return dg.SkipReason("no new failed evaluation of the drift or realized-F1 check")
    in_flight = context.instance.get_run_records(
        dg.RunsFilter(job_name="train_ml_model", statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SkipReason(f"{', '.join(failed)} failed, but train_ml_model runs already")
    context.log.info(f"{', '.join(failed)} failed: requesting train_ml_model")
    return dg.RunRequest(tags={"mlops_demo/retrain_because": ",".join(failed)})


def retrain_on_drift_or_decay_sensor(interval_seconds: int) -> dg.SensorDefinition:
    return dg.sensor(
        name="retrain_on_drift_or_decay_sensor",
        job_name="train_ml_model",
        minimum_interval_seconds=daemon_interval(interval_seconds),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Launches train_ml_model once for each new failed evaluation of the drift "
        "check or the realized-F1 check. Stopped by default: start it in Automation to close "
        "the loop.",
    )(_retrain_on_drift_or_decay)
