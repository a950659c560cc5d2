"""The UDI index of the JSONL store: written by ingestion, never trusted past what the store
holds, and rebuilt from the store when it is missing, behind or stale."""

import json
from pathlib import Path

import numpy as np
import pytest

from mlops_demo.core.messages.cleaning import clean_reading
from mlops_demo.core.messages.records import READING_FIELDS, UDI, reading_of
from mlops_demo.core.storage import udi_index
from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.core.storage.udi_index import ENTRY, entries_of, line_udis


@pytest.fixture
def store(tmp_path: Path) -> JsonlStore:
    return JsonlStore(tmp_path / "store.jsonl", tmp_path / "quarantine.jsonl")


def _ingest(store: JsonlStore, records: list[dict], tmp_path: Path) -> None:
    landing = LandingArea(tmp_path / "landing")
    landing.land([json.dumps(reading_of(r)).encode() for r in records])
    store.ingest(landing, clean_reading)


def _written(store: JsonlStore) -> np.ndarray:
    return np.frombuffer(store.index.path.read_bytes(), dtype=ENTRY)


def _from_the_store(store: JsonlStore) -> np.ndarray:
    return entries_of(store.path.read_bytes(), 0)


def test_ingestion_writes_an_entry_per_stored_line(store, tmp_path, sample_records):
    _ingest(store, sample_records[300:600], tmp_path)
    _ingest(store, sample_records[:400], tmp_path)  # 300-399 are duplicates: no entry
    written = _written(store)
    assert written.tolist() == _from_the_store(store).tolist()
    assert sorted(written["udi"]) == list(range(1, 601))
    entries, complete = store.index.entries_and_whether_written()
    assert complete and entries.tolist() == written.tolist()


def test_a_missing_or_lagging_index_is_made_up_from_the_store(store, tmp_path, sample_records):
    _ingest(store, sample_records[:300], tmp_path)
    whole = _written(store)
    store.index.path.write_bytes(whole[:100].tobytes() + b"\x01\x02")  # behind, torn last entry
    entries, complete = store.index.entries_and_whether_written()
    assert not complete and entries.tolist() == whole.tolist()
    assert store.read_udis(READING_FIELDS, [250, 3])[UDI].tolist() == [3, 250]
    store.index.path.unlink()
    assert store.udis().tolist() == list(range(1, 301))
    _ingest(store, sample_records[300:310], tmp_path)  # the next ingestion writes it whole
    assert _written(store).tolist() == _from_the_store(store).tolist()


def test_an_index_of_another_store_is_ignored(store, tmp_path, sample_records):
    _ingest(store, sample_records[:300], tmp_path)
    stale = store.index.path.read_bytes()
    store.path.unlink()  # as `mlops-demo reset` would, had it left the index behind
    store.index.path.write_bytes(stale)
    _ingest(store, sample_records[500:900], tmp_path)
    assert store.udis().tolist() == list(range(501, 901))
    assert store.read_range(READING_FIELDS, newest=2)[UDI].tolist() == [899, 900]
    assert _written(store).tolist() == _from_the_store(store).tolist()


def test_a_store_indexed_in_blocks_smaller_than_a_line_gives_the_same_entries(
    store, tmp_path, sample_records, monkeypatch
):
    _ingest(store, sample_records[:50], tmp_path)
    store.index.path.unlink()
    monkeypatch.setattr(udi_index, "_BLOCK", 37)  # lines are about 200 bytes
    assert store.index.entries().tolist() == _from_the_store(store).tolist()


def test_a_torn_store_line_is_not_indexed(store, tmp_path, sample_records):
    _ingest(store, sample_records[:10], tmp_path)
    with open(store.path, "ab") as f:
        f.write(b'{"UDI":11,"Torq')  # a writer died mid-line
    entries = store.index.entries()
    assert entries["udi"].tolist() == list(range(1, 11))
    _ingest(store, sample_records[10:12], tmp_path)  # the repair cuts it; 11 and 12 are stored
    assert store.read_udis(READING_FIELDS, [11, 12])[UDI].tolist() == [11, 12]
    assert _written(store).tolist() == _from_the_store(store).tolist()


def test_line_udis_reads_canonical_lines_fast_and_parses_any_other():
    lines = [
        b'{"UDI":12,"Torque [Nm]":40}',
        b'{"Torque [Nm]":40,"UDI":7}',  # UDI not first: parsed
        b'{"UDI": 5, "Torque [Nm]": 40}',  # not canonical spacing: parsed
        b'{"UDI":123456789012,"Torque [Nm]":40}',
    ]
    data = b"\n".join(lines) + b"\n"
    starts, ends, udis = line_udis(data)
    assert udis.tolist() == [12, 7, 5, 123456789012]
    assert [data[start:end] for start, end in zip(starts, ends, strict=True)] == lines
    assert [len(a) for a in line_udis(b"")] == [0, 0, 0]


def test_read_lines_gives_each_chosen_line_whether_or_not_they_are_consecutive(
    store, tmp_path, sample_records
):
    _ingest(store, sample_records[:50], tmp_path)
    lines = store.path.read_bytes().splitlines()
    entries = _written(store)
    consecutive, scattered = entries[10:20], entries[[3, 40, 4, 17]]
    assert udi_index.read_lines(store.path, consecutive) == lines[10:20]
    assert udi_index.read_lines(store.path, scattered) == [lines[i] for i in (3, 40, 4, 17)]
    assert udi_index.read_lines(store.path, entries[:0]) == []
    # A store cut short under its index: the lines it still holds whole, then what is left.
    cut = int(entries["start"][15])
    store.path.write_bytes(store.path.read_bytes()[:cut])
    short = udi_index.read_lines(store.path, entries[10:20])
    assert short[:5] == lines[10:15] and short[5:] == [b""] * 5


def test_the_row_count_comes_from_the_index_only_when_it_covers_the_whole_store(
    store, tmp_path, sample_records
):
    assert store.row_count() == 0 and store.index.count_if_whole() is None
    _ingest(store, sample_records[:40], tmp_path)
    assert store.index.count_if_whole() == 40 and store.row_count() == 40
    # A line written by hand, and then a torn one: the index no longer covers the store.
    with open(store.path, "a") as f:
        f.write(json.dumps(reading_of(sample_records[40])) + "\n")
    assert store.index.count_if_whole() is None and store.row_count() == 41
    with open(store.path, "a") as f:
        f.write('{"UDI": 42')
    assert store.index.count_if_whole() is None and store.row_count() == 41
    # Another store of the same size under this index: its first and last lines do not match.
    lines = store.path.read_bytes().splitlines(keepends=True)
    store.path.write_bytes(b"".join([lines[1], lines[0], *lines[2:40]]))
    assert store.index.count_if_whole() is None and store.row_count() == 40
    store.path.unlink()
    assert store.index.count_if_whole() is None and store.row_count() == 0
