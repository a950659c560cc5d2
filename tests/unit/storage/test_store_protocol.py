"""What both stores answer alike: the reads by UDI that monitoring and inference use on large
stores. Here on the JSONL store; the same tests run on PostgreSQL in
tests/integration/storage/test_store_protocol_postgres.py."""

import json
import uuid

import pytest
from psycopg2 import sql

from mlops_demo.core.messages.cleaning import clean_reading, clean_status
from mlops_demo.core.messages.records import READING_FIELDS, UDI, reading_of, status_of
from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.storage.postgres import PostgresStore
from mlops_demo.core.storage.postgres_connection import connect


@pytest.fixture
def store(tmp_path):
    return JsonlStore(tmp_path / "store.jsonl", tmp_path / "quarantine.jsonl")


def test_range_reads_select_by_udi_and_keep_the_newest_in_udi_order(
    store, tmp_path, sample_records
):
    assert store.read_range(READING_FIELDS, newest=5).empty  # nothing stored yet
    landing = LandingArea(tmp_path / "landing")
    # Out of order on arrival: 501-1000 first, then 1-500.
    for part in (sample_records[500:1000], sample_records[:500]):
        landing.land([json.dumps(reading_of(r)).encode() for r in part])
    store.ingest(landing, clean_reading)

    def udis(**bounds) -> list[int]:
        frame = store.read_range(READING_FIELDS, **bounds)
        assert list(frame.columns) == list(READING_FIELDS)
        return frame[UDI].tolist()

    assert udis() == list(range(1, 1001))
    assert udis(first_udi=990) == list(range(990, 1001))
    assert udis(last_udi=10) == list(range(1, 11))
    assert udis(last_udi=600, newest=150) == list(range(451, 601))
    assert udis(first_udi=401, last_udi=700, newest=1000) == list(range(401, 701))
    assert udis(first_udi=2000) == []
    assert udis(newest=0) == []
    whole = store.read_frame(READING_FIELDS).sort_values(UDI).reset_index(drop=True)
    assert store.read_range(READING_FIELDS).equals(whole)


def test_udis_and_reads_by_udi_parse_only_the_records_asked_for(store, tmp_path, sample_records):
    assert list(store.udis()) == [] and store.read_udis(READING_FIELDS, [1, 2]).empty
    landing = LandingArea(tmp_path / "landing")
    for part in (sample_records[300:600], sample_records[:300]):
        landing.land([json.dumps(reading_of(r)).encode() for r in part])
    store.ingest(landing, clean_reading)
    assert list(store.udis()) == list(range(1, 601))
    frame = store.read_udis(READING_FIELDS, [599, 5, 1000, 300])
    assert frame[UDI].tolist() == [5, 300, 599]  # in UDI order; 1000 is not stored
    assert frame.iloc[1].to_dict() == reading_of(sample_records[299])


def test_missing_values_are_counted_per_field(store, tmp_path, sample_records):
    landing = LandingArea(tmp_path / "landing")
    landing.land([json.dumps(reading_of(r)).encode() for r in sample_records[:10]])
    store.ingest(landing, clean_reading)
    counted = store.count_missing(READING_FIELDS)
    assert (counted.rows, counted.checked) == (10, 10)
    assert counted.missing == dict.fromkeys(READING_FIELDS, 0)
    _damage(store, {UDI: 11, "Torque [Nm]": None, "Type": ""})
    counted = store.count_missing(READING_FIELDS, skip=10)
    assert counted.rows == 11 and counted.missing["Torque [Nm]"] == 1
    assert counted.missing["Type"] == 1 and counted.missing["Tool wear [min]"] == 1
    assert counted.missing[UDI] == 0


def _damage(store, record: dict) -> None:
    """Add a record as a hand edit would, past the ingestion's validation."""
    if isinstance(store, JsonlStore):
        with open(store.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        return
    with connect(store.url) as connection, connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {records} VALUES (%s, %s)").format(**store._names()),
            (record[UDI], json.dumps(record)),
        )
        connection.commit()


def _stored(store, tmp_path, bodies: list[bytes], validate) -> None:
    landing = LandingArea(tmp_path / f"landing-{uuid.uuid4().hex[:8]}")
    landing.land(bodies)
    store.ingest(landing, validate)


def _statuses_beside(store, tmp_path):
    """A statuses store on the same backend, where the code location keeps it."""
    if isinstance(store, JsonlStore):
        return JsonlStore(tmp_path / "statuses.jsonl", tmp_path / "quarantine-statuses.jsonl")
    return PostgresStore(store.url, store.schema, "statuses", "quarantine_statuses")


def test_the_readings_without_a_status_are_those_whose_udi_the_statuses_lack(
    store, tmp_path, sample_records
):
    statuses = _statuses_beside(store, tmp_path)
    assert store.udis_not_in(statuses).tolist() == []
    readings = [sample_records[i] for i in (7, 0, 4, 1, 2)]
    _stored(store, tmp_path, [json.dumps(reading_of(r)).encode() for r in readings], clean_reading)
    reading_udis = sorted(r[UDI] for r in readings)
    assert store.udis_not_in(statuses).tolist() == reading_udis
    # Two of the readings get their status, and one machine reports without a reading.
    labelled = [readings[1], readings[2], sample_records[5]]
    status_bodies = [json.dumps(status_of(r)).encode() for r in labelled]
    _stored(statuses, tmp_path, status_bodies, clean_status)
    waiting = sorted(set(reading_udis) - {r[UDI] for r in labelled})
    assert store.udis_not_in(statuses).tolist() == waiting
    # Statuses on the other backend are compared by their UDIs.
    elsewhere = JsonlStore(tmp_path / "elsewhere.jsonl", tmp_path / "quarantine-elsewhere.jsonl")
    _stored(elsewhere, tmp_path, status_bodies, clean_status)
    assert store.udis_not_in(elsewhere).tolist() == waiting
