"""Ingestion in real Dagster runs on the real broker: counts, bad input, duplicates, crashes."""

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from helpers.runs import current_storage, metadata, stored_udis

from mlops_demo.core.common.locations import DAGSTER_HOMES, instance_kind
from mlops_demo.core.messages.cleaning import MAX_BODY_BYTES
from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    READING_FIELDS,
    ROTATIONAL_SPEED,
    TORQUE,
    TYPE,
    UDI,
    reading_of,
    status_of,
)
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.storage.protocol import QUARANTINE_PREFIX_BYTES
from mlops_demo.core.transport import broker
from mlops_demo.defs.ingestion.assets import READINGS_NAMES, STATUSES_NAMES, stream_ingestion
from mlops_demo.defs.resources import CodeLocationSettings, resources_from_env

pytestmark = pytest.mark.broker


@pytest.fixture
def instance(backend_instance):
    return backend_instance


_LOADED = CodeLocationSettings()
READINGS_CHAIN = list(stream_ingestion(READINGS, READINGS_NAMES, _LOADED, "jsonl").assets)
STATUSES_CHAIN = list(stream_ingestion(STATUSES, STATUSES_NAMES, _LOADED, "jsonl").assets)


def _counts(result: dg.ExecuteInProcessResult, raw: str, cleaned: str) -> dict:
    """A run's counts, which the cleaned asset gives whichever asset stored the messages (the
    drain, before each ack; the cleaned asset, batches a failed run left landed)."""
    drained, stored = metadata(result, raw), metadata(result, cleaned)
    assert stored["records_stored"] >= drained["records_stored_before_ack"]
    return {
        "received": drained["messages_received"],
        "stored": stored["records_stored"],
        "duplicates": stored["duplicates_dropped"],
        "quarantined": stored["records_quarantined"],
        "total_rows": stored["dagster/row_count"],
    }


def _publish(url: str, queue: str, messages: list[dict], queue_type: str = "classic") -> None:
    broker.publish(url, queue, [json.dumps(m).encode() for m in messages], queue_type=queue_type)


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_both_streams_ingest_fully(env, instance, broker_url, queues, monkeypatch, queue_type):
    monkeypatch.setenv("MLOPS_QUEUE_TYPE", queue_type)  # for the run's resources
    records = simulate(1200)
    _publish(broker_url, queues["readings"], [reading_of(x) for x in records], queue_type)
    _publish(broker_url, queues["statuses"], [status_of(x) for x in records[:700]], queue_type)
    readings = dg.materialize(READINGS_CHAIN, instance=instance, resources=resources_from_env())
    statuses = dg.materialize(STATUSES_CHAIN, instance=instance, resources=resources_from_env())
    assert _counts(readings, "sensor_readings", "cleaned_readings") == {
        "received": 1200,
        "stored": 1200,
        "duplicates": 0,
        "quarantined": 0,
        "total_rows": 1200,
    }
    assert metadata(readings, "historic_readings")["dagster/row_count"] == 1200
    assert metadata(statuses, "cleaned_daily_statuses")["dagster/row_count"] == 700
    frame = current_storage().store(READINGS).read_frame(READING_FIELDS)
    assert frame.to_dict("records") == [reading_of(x) for x in records]
    assert broker.queue_depth(broker_url, queues["readings"], queue_type) == 0


BAD_BODIES = {
    "invalid JSON": b"{oops",
    "a non-object": b"[1]",
    "missing fields": json.dumps({"UDI": 1}).encode(),
    "wrong types": json.dumps({**reading_of(simulate(1)[0]), TORQUE: "high"}).encode(),
    "NaN": json.dumps({**reading_of(simulate(1)[0]), TORQUE: float("nan")}).encode(),
    "infinity": json.dumps({**reading_of(simulate(1)[0]), TORQUE: float("inf")}).encode(),
    "temperature": json.dumps({**reading_of(simulate(1)[0]), AIR_TEMPERATURE: 20.0}).encode(),
    "negative speed": json.dumps({**reading_of(simulate(1)[0]), ROTATIONAL_SPEED: -1}).encode(),
    "unknown type": json.dumps({**reading_of(simulate(1)[0]), TYPE: "Z"}).encode(),
    "bad UDI": json.dumps({**reading_of(simulate(1)[0]), UDI: -3}).encode(),
    "oversized": b'{"UDI": 1, "pad": "' + b"x" * MAX_BODY_BYTES + b'"}',
    "non-UTF-8": b'{"UDI": 1, "Type": "\xff"}',
    "changed content": json.dumps({**reading_of(simulate(1)[0]), TORQUE: 99.9}).encode(),
}


def test_every_kind_of_bad_input_is_quarantined_with_its_reason(env, instance, broker_url, queues):
    good = [reading_of(x) for x in simulate(5)]
    _publish(broker_url, queues["readings"], good)
    dg.materialize(READINGS_CHAIN, instance=instance, resources=resources_from_env())
    broker.publish(broker_url, queues["readings"], list(BAD_BODIES.values()))
    result = dg.materialize(READINGS_CHAIN, instance=instance, resources=resources_from_env())
    assert result.success
    counts = _counts(result, "sensor_readings", "cleaned_readings")
    assert (counts["stored"], counts["quarantined"]) == (0, len(BAD_BODIES))
    by_body = {e["body_sha256"]: e for e in current_storage().store(READINGS).quarantined()}
    assert len(by_body) == len(BAD_BODIES)
    for kind, body in BAD_BODIES.items():
        entry = by_body[hashlib.sha256(body).hexdigest()]
        assert entry["reason"], kind
        kept = entry["body"].encode() if "body" in entry else base64.b64decode(entry["body_base64"])
        assert kept == body[:QUARANTINE_PREFIX_BYTES], kind
        assert entry["body_bytes"] == len(body), kind
        assert entry.get("body_truncated", False) == (len(body) > QUARANTINE_PREFIX_BYTES), kind
    changed = by_body[hashlib.sha256(BAD_BODIES["changed content"]).hexdigest()]
    assert changed["reason"] == "UDI 1 is already stored with different content"
    assert stored_udis(READINGS) == [1, 2, 3, 4, 5]


def test_republished_messages_are_not_stored_twice(env, instance, broker_url, queues):
    messages = [status_of(x) for x in simulate(500)]
    _publish(broker_url, queues["statuses"], messages)
    dg.materialize(STATUSES_CHAIN, instance=instance, resources=resources_from_env())
    _publish(broker_url, queues["statuses"], messages)
    result = dg.materialize(STATUSES_CHAIN, instance=instance, resources=resources_from_env())
    counts = _counts(result, "daily_machine_statuses", "cleaned_daily_statuses")
    assert (counts["stored"], counts["duplicates"], counts["total_rows"]) == (0, 500, 500)


def _job_process(env: Path, job: str, cwd: Path) -> subprocess.Popen:
    """A real `dagster job execute` run of the code location, in its own process."""
    environment = {**os.environ, "DAGSTER_HOME": str(cwd)}
    # The project's profile for the instance kind under test (SQLite or PostgreSQL).
    profile = DAGSTER_HOMES[instance_kind(os.environ)] / "dagster.yaml"
    shutil.copy(profile, cwd / "dagster.yaml")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "job",
            "execute",
            "-m",
            "mlops_demo.definitions",
            "-j",
            job,
        ],
        cwd=cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_a_run_killed_mid_batch_loses_and_doubles_nothing(env, broker_url, queues, tmp_path):
    total = 40_000
    _publish(broker_url, queues["readings"], [reading_of(x) for x in simulate(total)])
    run = _job_process(env, "get_all_readings_job", tmp_path)
    landing = env / "landing" / "readings"
    deadline = time.monotonic() + 120
    while not list(landing.glob("*.batch")) and not stored_udis(READINGS):
        assert time.monotonic() < deadline, "the run never landed or stored a chunk"
        assert run.poll() is None, run.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert broker.queue_depth(broker_url, queues["readings"]) > 0, "killed too late to mean much"

    rerun = _job_process(env, "get_all_readings_job", tmp_path)
    assert rerun.wait(180) == 0, rerun.stderr.read().decode()[-3000:]
    assert sorted(stored_udis(READINGS)) == list(range(1, total + 1))
    assert not list(landing.glob("*"))


def test_two_concurrent_runs_of_one_stream_split_the_work_cleanly(
    env, broker_url, queues, tmp_path
):
    total = 20_000
    _publish(broker_url, queues["statuses"], [status_of(x) for x in simulate(total)])
    homes = [tmp_path / "a", tmp_path / "b"]
    runs = []
    for home in homes:
        home.mkdir()
        runs.append(_job_process(env, "get_all_daily_machine_statuses_job", home))
    for run in runs:
        assert run.wait(180) == 0, run.stderr.read().decode()[-3000:]
    assert sorted(stored_udis(STATUSES)) == list(range(1, total + 1))
    assert broker.queue_depth(broker_url, queues["statuses"]) == 0


# Each job in a fresh interpreter, as Dagster starts every run: which heavy packages it loaded.
INGEST_AND_REPORT_IMPORTS = """
import sys
import dagster as dg
from mlops_demo.definitions import defs
with dg.instance_for_test() as instance:
    for job in ("get_all_readings_job", "get_all_daily_machine_statuses_job"):
        assert defs.resolve_job_def(job).execute_in_process(instance=instance).success, job
print("loaded:", ",".join(m for m in ("pandas", "sklearn", "scipy") if m in sys.modules))
"""


def test_ingestion_runs_before_any_deployment_never_import_pandas(env, broker_url, queues):
    # pandas adds about 0.3 s to the start of every run that imports it (bench/run_start.py);
    # ingestion stores and checks lines without it until a deployed model asks for drift.
    records = simulate(600)
    broker.publish(
        broker_url, queues["readings"], [json.dumps(reading_of(r)).encode() for r in records]
    )
    broker.publish(
        broker_url, queues["statuses"], [json.dumps(status_of(r)).encode() for r in records]
    )
    result = subprocess.run(
        [sys.executable, "-c", INGEST_AND_REPORT_IMPORTS],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    [loaded] = [line for line in result.stdout.splitlines() if line.startswith("loaded:")]
    assert loaded == "loaded: "
    assert stored_udis(READINGS) == list(range(1, 601))
