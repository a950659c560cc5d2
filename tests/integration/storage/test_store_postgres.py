"""The PostgreSQL store: the JSONL store's behaviour, the same results, and competing consumers."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from helpers.faults import RUNNER
from helpers.postgres import POSTGRES_URL

from mlops_demo.core.messages.cleaning import clean_reading, clean_status
from mlops_demo.core.messages.records import (
    READING_FIELDS,
    STATUS_FIELDS,
    TORQUE,
    UDI,
    reading_of,
    status_of,
)
from mlops_demo.core.model import training
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.storage.postgres import PostgresStore
from mlops_demo.core.storage.postgres_connection import StoreUnavailable
from mlops_demo.core.transport import broker


@pytest.fixture
def pg(postgres_available):
    schema = f"test_{uuid.uuid4().hex[:10]}"
    stores = {
        "readings": PostgresStore(POSTGRES_URL, schema, "cleaned_readings", "quarantined_readings"),
        "statuses": PostgresStore(
            POSTGRES_URL, schema, "cleaned_daily_statuses", "quarantined_daily_statuses"
        ),
    }
    yield stores
    stores["readings"].drop()


def _bodies(messages: list[dict]) -> list[bytes]:
    return [json.dumps(m).encode() for m in messages]


def test_batches_are_stored_once_with_duplicates_and_conflicts_told_apart(pg, tmp_path):
    store, landing = pg["readings"], LandingArea(tmp_path / "landing")
    readings = [reading_of(x) for x in simulate(600)]
    changed = {**readings[0], TORQUE: 99.0}
    landing.land([*_bodies(readings[:400]), b"{oops"])
    landing.land([*_bodies(readings[300:]), json.dumps(changed).encode(), b"{oops"])
    counts = store.ingest(landing, clean_reading)
    assert (counts.received, counts.stored, counts.duplicates, counts.quarantined) == (
        703,
        600,
        101,
        2,
    )
    assert counts.total_rows == store.row_count() == 600
    assert store.read_frame(READING_FIELDS).to_dict("records") == readings
    reasons = sorted(entry["reason"] for entry in store.quarantined())
    assert reasons[0].startswith("UDI 1 is already stored with different content")
    assert reasons[1].startswith("body is not valid JSON")
    assert landing.batches() == []


def test_replaying_a_committed_batch_stores_nothing_twice(pg, tmp_path):
    store, landing = pg["readings"], LandingArea(tmp_path / "landing")
    batch = landing.land([*_bodies([reading_of(x) for x in simulate(50)]), b"bad"])
    kept = batch.read_bytes()
    store.ingest(landing, clean_reading)
    batch.write_bytes(kept)  # as if the run died after the commit, before the unlink
    counts = store.ingest(landing, clean_reading)
    assert (counts.stored, counts.quarantined, counts.duplicates) == (0, 0, 51)
    assert store.row_count() == 50 and len(store.quarantined()) == 1


def test_both_stores_give_the_same_frames_and_the_same_model(pg, tmp_path):
    records = simulate(1500)
    frames = {}
    for kind, (readings, statuses) in {
        "jsonl": (
            JsonlStore(tmp_path / "r.jsonl", tmp_path / "qr.jsonl"),
            JsonlStore(tmp_path / "s.jsonl", tmp_path / "qs.jsonl"),
        ),
        "postgres": (pg["readings"], pg["statuses"]),
    }.items():
        for store, messages, validate in (
            (readings, [reading_of(x) for x in records], clean_reading),
            (statuses, [status_of(x) for x in records[:1000]], clean_status),
        ):
            landing = LandingArea(tmp_path / kind / "landing")
            landing.land(_bodies(messages))
            store.ingest(landing, validate)
        frames[kind] = training.join_on_udi(
            readings.read_frame(READING_FIELDS), statuses.read_frame(STATUS_FIELDS)
        )
    assert frames["jsonl"].equals(frames["postgres"])
    metrics = {
        kind: training.train(*training.split_by_udi(frame, 0.7)).summary.metrics
        for kind, frame in frames.items()
    }
    assert metrics["jsonl"] == metrics["postgres"]


def test_an_unreachable_database_is_one_clear_error_without_the_password():
    store = PostgresStore("postgresql://alice:pw-secret@127.0.0.1:1/x", "s", "t", "q")
    with pytest.raises(StoreUnavailable) as caught:
        store.row_count()
    assert "cannot reach PostgreSQL at postgresql://alice:***@127.0.0.1:1/x" in str(caught.value)
    assert "pw-secret" not in str(caught.value)


@pytest.mark.broker
def test_three_consumers_on_one_queue_store_each_message_once(
    pg, broker_url, queues, tmp_path, monkeypatch
):
    total = 30_000
    schema = pg["readings"].schema
    monkeypatch.setenv("MLOPS_STORE_URL", POSTGRES_URL)
    monkeypatch.setenv("MLOPS_STORE_SCHEMA", schema)
    monkeypatch.setenv("MLOPS_BROKER_URL", broker_url)
    monkeypatch.setenv("MLOPS_READINGS_QUEUE", queues["readings"])
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    broker.publish(
        broker_url, queues["readings"], _bodies([reading_of(x) for x in simulate(total)])
    )
    consumers = []
    for machine in ("a", "b", "c"):
        # Each consumer has its own data directory, as on its own machine.
        env = {**os.environ, "MLOPS_DATA_DIR": str(tmp_path / machine)}
        consumers.append(
            subprocess.Popen(
                [sys.executable, str(RUNNER), "none", "get_all_readings_job"],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for consumer in consumers:
        assert consumer.wait(300) == 0, consumer.stderr.read()[-3000:]
    udis = pg["readings"].read_frame((UDI,))[UDI].tolist()
    assert sorted(udis) == list(range(1, total + 1))
    assert broker.queue_depth(broker_url, queues["readings"]) == 0


@pytest.mark.parametrize("kind", ["jsonl", "postgres"])
def test_a_number_written_40_40_0_or_4e1_is_the_same_reading(kind, pg, tmp_path):
    store = (
        pg["readings"] if kind == "postgres" else JsonlStore(tmp_path / "r.jsonl", tmp_path / "q")
    )
    landing = LandingArea(tmp_path / "landing")
    reading = {**reading_of(simulate(1)[0]), TORQUE: 40}
    spellings = [
        json.dumps(reading).replace('"Torque [Nm]": 40', f'"Torque [Nm]": {n}')
        for n in ("40", "40.0", "4e1", "40.00")
    ]
    landing.land([s.encode() for s in spellings])
    counts = store.ingest(landing, clean_reading)
    assert (counts.stored, counts.duplicates, counts.quarantined) == (1, 3, 0)
    changed = json.dumps(reading).replace('"Torque [Nm]": 40', '"Torque [Nm]": 40.5')
    landing.land([changed.encode()])
    assert store.ingest(landing, clean_reading).quarantined == 1  # a real change conflicts


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:s3?cr#t@pa%ss@127.0.0.1:5432/postgres",
        "postgresql://alice:hunter2@127.0.0.1:notaport/postgres",
        "postgresql://alice:hunter2@127.0.0.1:5432/postgres?sslmode=nonsense",
    ],
)
def test_an_unusable_store_url_is_one_error_without_the_password(url):
    store = PostgresStore(url, "never_created", "r", "q")
    with pytest.raises(StoreUnavailable) as refused:
        store.row_count()
    message = str(refused.value)
    assert "hunter2" not in message and "cr#t" not in message and "pa%ss" not in message
