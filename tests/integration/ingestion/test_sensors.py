"""The queue-depth sensors on the real broker and a real Dagster instance."""

import threading
import time
import uuid

import dagster as dg
import pytest

from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.transport import broker
from mlops_demo.definitions import defs
from mlops_demo.defs.ingestion import sensors
from mlops_demo.defs.ingestion.sensors import watch_seconds
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.resources import (
    CodeLocationSettings,
    RabbitMQResource,
    StorageResource,
    from_env,
)

SENSORS = {sensor.name: sensor for sensor in defs.sensors}
min_number_of_readings_sensor = SENSORS["min_number_of_readings_sensor"]
min_number_of_machine_statuses_sensor = SENSORS["min_number_of_machine_statuses_sensor"]

pytestmark = pytest.mark.broker


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data directory of the test's own, so landed batches are the test's; ticks look once
    unless a test has them watch."""
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MLOPS_SENSOR_WATCH_SECONDS", "0")
    return tmp_path


def _watch(monkeypatch, seconds: float) -> None:
    # A long interval lifts the cap that ends a watch in time for the daemon's next tick.
    monkeypatch.setenv("MLOPS_SENSOR_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("MLOPS_SENSOR_WATCH_SECONDS", str(seconds))


def _later(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def _tick(sensor, instance, url: str, queues: dict[str, str], queue_type: str = "classic"):
    resources = {
        "rabbitmq": RabbitMQResource(
            broker_url=url,
            readings_queue=queues["readings"],
            statuses_queue=queues["statuses"],
            queue_type=queue_type,
        ),
        "storage": from_env(StorageResource),
        "ingestion_settings": from_env(IngestionSettings),
    }
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return sensor(context)


@pytest.mark.parametrize(
    ("sensor", "queue_key", "job"),
    [
        (min_number_of_readings_sensor, "readings", "get_all_readings_job"),
        (min_number_of_machine_statuses_sensor, "statuses", "get_all_daily_machine_statuses_job"),
    ],
)
def test_the_sensor_waits_for_a_full_batch(
    sensor, queue_key, job, data_dir, instance, broker_url, queues
):
    queue = queues[queue_key]
    skipped = _tick(sensor, instance, broker_url, queues)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == f"queue '{queue}' holds 0 messages; a run starts at 500"

    broker.publish(broker_url, queue, [b"{}"] * 499)
    skipped = _tick(sensor, instance, broker_url, queues)
    assert skipped.skip_message == f"queue '{queue}' holds 499 messages; a run starts at 500"

    broker.publish(broker_url, queue, [b"{}"])
    request = _tick(sensor, instance, broker_url, queues)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["mlops_demo/queue_depth"] == "500"
    assert sensor.job_name == job


# A QUEUED run needs a code-location origin to exist at all; the end-to-end test covers it.
@pytest.mark.parametrize(
    "status",
    [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED],
)
def test_no_second_run_while_one_is_queued_or_running(
    status, data_dir, instance, broker_url, queues
):
    broker.publish(broker_url, queues["readings"], [b"{}"] * 600)
    run = instance.add_run(
        dg.DagsterRun(job_name="get_all_readings_job", run_id=str(uuid.uuid4()), status=status)
    )
    skipped = _tick(min_number_of_readings_sensor, instance, broker_url, queues)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith(f"run {run.run_id[:8]} of get_all_readings_job is ")
    instance.delete_run(run.run_id)  # the run is gone: the next tick may request again
    assert isinstance(
        _tick(min_number_of_readings_sensor, instance, broker_url, queues), dg.RunRequest
    )


def test_a_broker_outage_is_a_skip_with_the_reason_and_the_sensor_recovers(
    data_dir, instance, broker_url, queues
):
    down = "amqp://guest:secret@127.0.0.1:1/%2F"
    skipped = _tick(min_number_of_readings_sensor, instance, down, queues)
    assert isinstance(skipped, dg.SkipReason)
    assert "cannot reach the RabbitMQ broker at amqp://guest:***@127.0.0.1:1/%2F" in (
        skipped.skip_message
    )
    assert "secret" not in skipped.skip_message
    assert skipped.skip_message.endswith("trying again on the next tick")
    broker.publish(broker_url, queues["readings"], [b"{}"] * 500)
    assert isinstance(
        _tick(min_number_of_readings_sensor, instance, broker_url, queues), dg.RunRequest
    )


def test_the_minimum_batch_is_a_setting(monkeypatch, data_dir, instance, broker_url, queues):
    monkeypatch.setenv("MLOPS_MIN_BATCH", "3")
    broker.publish(broker_url, queues["statuses"], [b"{}"] * 3)
    result = _tick(min_number_of_machine_statuses_sensor, instance, broker_url, queues)
    assert isinstance(result, dg.RunRequest)


def test_landed_batches_left_by_a_failed_run_are_retried_without_new_messages(
    data_dir, instance, broker_url, queues
):
    LandingArea(data_dir / "landing" / "readings").land([b"{}"] * 3)
    request = _tick(min_number_of_readings_sensor, instance, broker_url, queues)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["mlops_demo/landed_batches"] == "1"
    failed = instance.add_run(
        dg.DagsterRun(
            job_name="get_all_readings_job",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.FAILURE,
        )
    )
    instance.report_run_failed(failed)
    skipped = _tick(min_number_of_readings_sensor, instance, broker_url, queues)
    assert isinstance(skipped, dg.SkipReason)
    assert (
        "1 landed batches wait to be stored, but the last run of get_all_readings_job failed"
        in (skipped.skip_message)
    )
    assert "trying again at" in skipped.skip_message


def _failed_run(instance, job: str = "get_all_readings_job") -> float:
    """A run of `job` that failed now; its end time as the instance records it."""
    run = instance.add_run(
        dg.DagsterRun(job_name=job, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED)
    )
    instance.report_run_failed(run)
    return instance.get_run_record_by_id(run.run_id).end_time


def test_a_full_queue_after_a_failed_run_waits_before_the_next_run_then_requests_it(
    monkeypatch, data_dir, instance, broker_url, queues
):
    monkeypatch.setattr(sensors, "FIRST_RETRY_SECONDS", 1)
    broker.publish(broker_url, queues["readings"], [b"{}"] * 500)
    _failed_run(instance)
    skipped = _tick(min_number_of_readings_sensor, instance, broker_url, queues)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith(
        f"queue '{queues['readings']}' holds 500 messages, but the last run of "
        "get_all_readings_job failed: trying again at "
    )
    time.sleep(1.1)
    assert isinstance(
        _tick(min_number_of_readings_sensor, instance, broker_url, queues), dg.RunRequest
    )


def test_the_wait_after_failed_runs_doubles_with_each_in_a_row_and_a_success_resets_it(instance):
    def wait_after_the_newest_failure() -> float:
        with dg.build_sensor_context(instance=instance) as context:
            retry = sensors._retry_at(context, "get_all_readings_job")
        return round(retry - ended)

    waits = []
    for _ in range(6):
        ended = _failed_run(instance)
        waits.append(wait_after_the_newest_failure())
    assert waits == [5, 10, 20, 40, 60, 60]
    # A failure of another job counts for that job only.
    _failed_run(instance, "get_all_daily_machine_statuses_job")
    assert wait_after_the_newest_failure() == 60
    instance.add_run(
        dg.DagsterRun(
            job_name="get_all_readings_job",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.SUCCESS,
        )
    )
    ended = _failed_run(instance)
    assert wait_after_the_newest_failure() == 5


def test_a_queue_of_the_other_type_is_a_skip_naming_the_setting(
    monkeypatch, data_dir, instance, broker_url, queues
):
    broker.publish(broker_url, queues["readings"], [b"{}"] * 500, queue_type="classic")
    result = _tick(min_number_of_readings_sensor, instance, broker_url, queues, "quorum")
    assert isinstance(result, dg.SkipReason)
    assert "exists as a classic queue, but MLOPS_QUEUE_TYPE asks for quorum" in result.skip_message


@pytest.mark.parametrize(
    "url",
    ["amqp://guest:guest@127.0.0.1:notaport/%2F", "amqp://guest:guest@127.0.0.1/%2F?heartbeat=x"],
)
def test_a_broker_url_pika_cannot_read_is_a_skip_reason_not_a_crashed_tick(
    data_dir, instance, queues, url
):
    result = _tick(min_number_of_readings_sensor, instance, url, queues)
    assert isinstance(result, dg.SkipReason)
    assert "MLOPS_BROKER_URL" in result.skip_message and "cannot be read" in result.skip_message
    assert "guest:guest" not in result.skip_message


def test_a_watching_tick_launches_a_batch_the_moment_it_arrives(
    monkeypatch, data_dir, instance, broker_url, queues
):
    _watch(monkeypatch, 30)
    publisher = _later(0.5, lambda: broker.publish(broker_url, queues["readings"], [b"{}"] * 500))
    started = time.monotonic()
    request = _tick(min_number_of_readings_sensor, instance, broker_url, queues)
    publisher.join()
    assert isinstance(request, dg.RunRequest)
    assert request.tags["mlops_demo/queue_depth"] == "500"
    assert time.monotonic() - started < 20, "the tick watched on after the batch had arrived"


def test_a_watching_tick_on_a_short_queue_skips_once_its_watch_is_over(
    monkeypatch, data_dir, instance, broker_url, queues
):
    _watch(monkeypatch, 0.6)
    broker.publish(broker_url, queues["statuses"], [b"{}"] * 499)
    started = time.monotonic()
    skipped = _tick(min_number_of_machine_statuses_sensor, instance, broker_url, queues)
    assert time.monotonic() - started >= 0.6
    assert skipped.skip_message == (
        f"queue '{queues['statuses']}' holds 499 messages; a run starts at 500"
    )


def test_a_watching_tick_launches_the_waiting_batch_once_the_run_in_flight_ends(
    monkeypatch, data_dir, instance, broker_url, queues
):
    _watch(monkeypatch, 30)
    broker.publish(broker_url, queues["readings"], [b"{}"] * 500)
    run = instance.add_run(
        dg.DagsterRun(
            job_name="get_all_readings_job",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
        )
    )
    ender = _later(0.5, lambda: instance.delete_run(run.run_id))
    request = _tick(min_number_of_readings_sensor, instance, broker_url, queues)
    ender.join()
    assert isinstance(request, dg.RunRequest)


@pytest.mark.parametrize(
    ("interval", "watch", "watched"), [(5, 3.5, 3.5), (5, 10, 3.5), (1, 10, 3.5), (30, 10, 10)]
)
def test_a_watch_ends_in_time_for_the_next_tick(interval, watch, watched):
    loaded_with = CodeLocationSettings(sensor_interval_seconds=interval, sensor_watch_seconds=watch)
    assert watch_seconds(loaded_with) == watched
