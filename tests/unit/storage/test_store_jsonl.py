"""The JSONL store and its landing area: exactly-once storage, quarantine, crash repair, locking."""

import hashlib
import json
import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from mlops_demo.core.common import durable
from mlops_demo.core.common.durable import append_durably, repair_tail, write_atomically
from mlops_demo.core.messages.cleaning import clean_reading
from mlops_demo.core.messages.records import READING_FIELDS, TORQUE, UDI, reading_of
from mlops_demo.core.storage.jsonl import JsonlStore, decode_lines, frame_of_lines
from mlops_demo.core.storage.landing import ABANDONED_AFTER_SECONDS, HOST, LandingArea
from mlops_demo.core.storage.protocol import QUARANTINE_PREFIX_BYTES, quarantine_entry


def _bodies(records: list[dict]) -> list[bytes]:
    return [json.dumps(reading_of(rec)).encode() for rec in records]


@pytest.fixture
def area(tmp_path: Path):
    return JsonlStore(tmp_path / "store.jsonl", tmp_path / "quarantine.jsonl"), LandingArea(
        tmp_path / "landing"
    )


def test_landed_batches_are_stored_once_and_removed(area, sample_records):
    store, landing = area
    landing.land(_bodies(sample_records[:600]))
    landing.land(_bodies(sample_records[500:1000]))
    counts = store.ingest(landing, clean_reading)
    assert (counts.received, counts.stored, counts.duplicates) == (1100, 1000, 100)
    assert counts.total_rows == store.row_count() == 1000
    assert landing.batches() == []
    frame = store.read_frame(READING_FIELDS)
    assert frame[UDI].tolist() == list(range(1, 1001))
    assert frame.iloc[0].to_dict() == reading_of(sample_records[0])


def test_bad_bodies_are_quarantined_with_reason_and_raw_body(area, sample_records):
    store, landing = area
    landing.land([b"\xffgarbage", b"[]", *_bodies(sample_records[:3])])
    counts = store.ingest(landing, clean_reading)
    assert (counts.stored, counts.quarantined) == (3, 2)
    entries = store.quarantined()
    assert entries[0]["body_base64"] and "not valid UTF-8" in entries[0]["reason"]
    assert entries[1]["body"] == "[]" and "Expected `object`, got `array`" in entries[1]["reason"]
    assert all("received_at" in e for e in entries)


def test_a_udi_stored_with_different_content_is_quarantined(area, sample_records):
    store, landing = area
    landing.land(_bodies(sample_records[:1]))
    store.ingest(landing, clean_reading)
    changed = dict(reading_of(sample_records[0]), **{TORQUE: 1.0})
    landing.land([json.dumps(changed).encode()])
    counts = store.ingest(landing, clean_reading)
    assert (counts.stored, counts.quarantined) == (0, 1)
    assert store.quarantined()[0]["reason"] == "UDI 1 is already stored with different content"


def test_replaying_a_batch_after_a_crash_before_its_removal_doubles_nothing(area, sample_records):
    store, landing = area
    batch = landing.land([*_bodies(sample_records[:50]), b"oops"])
    kept = batch.read_bytes()
    store.ingest(landing, clean_reading)
    batch.write_bytes(kept)  # as if the run died after the store write, before the unlink
    counts = store.ingest(landing, clean_reading)
    assert (counts.stored, counts.quarantined, counts.duplicates) == (0, 0, 51)
    assert store.row_count() == 50 and len(store.quarantined()) == 1


def test_a_torn_last_line_is_ignored_by_readers_and_cut_by_the_next_writer(area, sample_records):
    store, landing = area
    landing.land(_bodies(sample_records[:10]))
    store.ingest(landing, clean_reading)
    with open(store.path, "ab") as f:
        f.write(b'{"UDI":11,"Product')  # a writer died mid-line
    assert store.row_count() == 10
    assert len(store.read_frame(READING_FIELDS)) == 10
    landing.land(_bodies(sample_records[10:12]))
    store.ingest(landing, clean_reading)
    lines = store.path.read_bytes().splitlines()
    assert len(lines) == 12 and all(json.loads(line) for line in lines)


def test_lines_decode_as_one_by_one_and_a_damaged_one_is_raised_at_its_place(sample_records):
    lines = [*_bodies(sample_records[:5]), b'{"UDI": 1e400, "Type": "\\u00e9"}', b"[]"]
    assert decode_lines(lines) == [json.loads(line) for line in lines]
    with pytest.raises(json.JSONDecodeError) as raised:
        decode_lines([*lines[:2], b'{"UDI": 3,', *lines[2:]])
    assert raised.value.doc == '{"UDI": 3,'


def test_lines_become_a_frame_of_the_columns_asked_for_in_their_order():
    lines = [b'{"UDI": 2, "Type": "L", "extra": 1}', b'{"UDI": 1}']
    frame = frame_of_lines(lines, ("Type", UDI, "absent"))
    assert list(frame.columns) == ["Type", UDI, "absent"]
    assert frame[UDI].tolist() == [2, 1]
    assert frame["Type"].tolist()[0] == "L" and frame["Type"].isna().tolist() == [False, True]
    assert frame["absent"].isna().all()
    assert list(frame_of_lines([], (UDI,)).columns) == [UDI]


def test_repair_tail_keeps_complete_lines(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a\nb\nhalf")
    assert repair_tail(path) == 4
    assert path.read_bytes() == b"a\nb\n"
    assert repair_tail(path) == 0
    path.write_bytes(b"only-torn")
    repair_tail(path)
    assert path.read_bytes() == b""


def _partial(landing, started_ns: int, host: str, pid: int):
    path = landing.directory / f"{started_ns:020d}-{host}-{pid}-{'ab' * 8}.tmp"
    path.write_bytes(b"eA==\n")
    return path


def test_abandoned_partial_batches_are_removed_and_stray_files_left_alone(area):
    _store, landing = area
    landing.directory.mkdir(parents=True)
    now = time.time_ns()
    dead = _partial(landing, now, HOST, 999_999_999)
    mine = _partial(landing, now, HOST, os.getpid())
    # Another machine's writers (containers sharing the volume): judged by age, not by pid.
    elsewhere_old = _partial(landing, now - 2 * ABANDONED_AFTER_SECONDS * 10**9, "box2", 1)
    elsewhere_new = _partial(landing, now, "box2", 999_999_999)
    stray = landing.directory / "notes.tmp"
    stray.write_text("a person's notes")
    assert landing.remove_abandoned_partials() == 2
    assert not dead.exists() and not elsewhere_old.exists()
    assert mine.exists() and elsewhere_new.exists() and stray.exists()
    assert landing.batches() == []


def test_a_batch_reads_back_as_landed_from_memory_and_from_disk(tmp_path):
    # Any bytes: a newline, invalid UTF-8, an empty body, every byte value.
    bodies = [b"line\nbreak", b"\xff\xfe", b"", bytes(range(256)), b'{"UDI": 1}']
    landing = LandingArea(tmp_path / "landing")
    older = landing.land([b"older"])
    batch = landing.land(bodies)
    assert landing.read(batch) == bodies
    assert LandingArea(landing.directory).read(batch) == bodies  # another run, from the file
    assert landing.read(older) == [b"older"]
    landing.remove(batch)
    assert not batch.exists() and landing.batches() == [older]


def test_a_redelivered_chunk_lands_once(area, sample_records):
    store, landing = area
    chunk = _bodies(sample_records[:5])
    first = landing.land(chunk)
    assert landing.land(chunk) == first and landing.batches() == [first]
    assert landing.land(chunk[:4]) != first and len(landing.batches()) == 2
    assert store.ingest(landing, clean_reading).stored == 5


def test_files_are_not_writable_by_other_users(area, sample_records, tmp_path):
    store, landing = area
    landing.land([*_bodies(sample_records[:2]), b"x"])
    store.ingest(landing, clean_reading)
    write_atomically(tmp_path / "atomic.json", b"{}")
    append_durably(tmp_path / "appended", b"x\n")
    for path in (
        store.path,
        store.quarantine_path,
        tmp_path / "atomic.json",
        tmp_path / "appended",
    ):
        assert not path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH), path


def _land_and_ingest(directory: str, start: int, count: int) -> None:
    from mlops_demo.core.plant.simulator import simulate

    base = Path(directory)
    store = JsonlStore(base / "store.jsonl", base / "quarantine.jsonl")
    landing = LandingArea(base / "landing")
    records = simulate(count, offset=start)
    for i in range(0, count, 100):
        landing.land(_bodies(records[i : i + 100]))
        store.ingest(landing, clean_reading)


def test_concurrent_writers_never_interleave_or_double(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    # Overlapping ranges: UDIs 1-3000 and 2001-5000 from two processes at once.
    workers = [
        ctx.Process(target=_land_and_ingest, args=(str(tmp_path), 0, 3000)),
        ctx.Process(target=_land_and_ingest, args=(str(tmp_path), 2000, 3000)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    lines = (tmp_path / "store.jsonl").read_bytes().splitlines()
    udis = [json.loads(line)[UDI] for line in lines]
    assert sorted(udis) == list(range(1, 5001))


def test_a_huge_rejected_body_is_kept_as_a_prefix_with_its_length_and_hash(area):
    store, landing = area
    huge = b'{"UDI": 1, "x": "' + b"y" * 10_000_000 + b'"}'
    landing.land([huge])
    assert store.ingest(landing, clean_reading).quarantined == 1
    [entry] = store.quarantined()
    assert entry["body_bytes"] == len(huge) and entry["body_truncated"] is True
    assert entry["body"].encode() == huge[:QUARANTINE_PREFIX_BYTES]
    assert entry["body_sha256"] == hashlib.sha256(huge).hexdigest()
    assert store.quarantine_path.stat().st_size < 2 * QUARANTINE_PREFIX_BYTES


def test_ingestion_reads_the_digest_index_not_the_quarantine(area):
    store, landing = area
    landing.land([b"bad one", b"bad two"])
    store.ingest(landing, clean_reading)
    # Damage what the index already covers: an ingestion that re-read it would fail to parse.
    quarantine = store.quarantine_path.read_bytes()
    store.quarantine_path.write_bytes(
        b"#" * (quarantine.index(b"\n")) + quarantine[quarantine.index(b"\n") :]
    )
    landing.land([b"bad one", b"bad three"])
    counts = store.ingest(landing, clean_reading)
    assert (counts.duplicates, counts.quarantined) == (1, 1)


def test_entries_a_crash_left_out_of_the_index_are_found_from_where_it_stopped(area):
    store, landing = area
    landing.land([b"bad one"])
    store.ingest(landing, clean_reading)
    # The process died after appending an entry and before recording its digest.
    append_durably(store.quarantine_path, quarantine_entry(b"bad two", "not JSON") + b"\n")
    landing.land([b"bad two", b"bad one"])
    counts = store.ingest(landing, clean_reading)
    assert (counts.duplicates, counts.quarantined) == (2, 0)
    assert len(store.quarantined()) == 2
    assert store.digests.load() == {hashlib.sha256(b).hexdigest() for b in (b"bad one", b"bad two")}


def test_new_files_and_folders_are_made_durable_in_their_folder(tmp_path, monkeypatch):
    synced: list[Path] = []
    real = durable.fsync_dir
    monkeypatch.setattr(durable, "fsync_dir", lambda path: (synced.append(path), real(path)))
    durable.ensure_dir(tmp_path / "a" / "b")
    assert synced == [tmp_path, tmp_path / "a"]
    synced.clear()
    append_durably(tmp_path / "a" / "b" / "new.jsonl", b"x\n")
    assert synced == [tmp_path / "a" / "b"]
    synced.clear()
    append_durably(tmp_path / "a" / "b" / "new.jsonl", b"y\n")  # no new name: nothing to sync
    assert synced == []


def test_a_chunk_is_stored_before_its_ack_and_a_writer_in_between_is_seen(area, sample_records):
    store, landing = area
    other = JsonlStore(store.path, store.quarantine_path)  # another run on the same store
    first = store.land_chunk(landing, _bodies(sample_records[:100]), clean_reading)
    assert (first.stored, first.total_rows, landing.batches()) == (100, 100, [])
    changed = {**sample_records[149], TORQUE: 99.0}
    other.land_chunk(landing, _bodies([*sample_records[100:149], changed]), clean_reading)
    # The first store's next chunk overlaps what the other wrote: duplicates and a conflict,
    # though it held on to what it knew after its own first chunk.
    counts = store.land_chunk(landing, _bodies(sample_records[120:200]), clean_reading)
    assert (counts.stored, counts.duplicates, counts.quarantined) == (50, 29, 1)
    assert store.udis().tolist() == list(range(1, 201))
    assert [q["reason"] for q in store.quarantined()] == [
        "UDI 150 is already stored with different content"
    ]


@pytest.mark.parametrize(
    ("damage", "missing"),
    [
        ({TORQUE: None}, 1),
        ({"Type": ""}, 1),
        ({TORQUE: "text"}, 0),
        ({TORQUE: {"nested": None}}, 0),  # present, whatever it holds
        ({"extra": None}, 0),
        ("drop Tool wear [min]", 1),
        ("duplicate Torque [Nm]", 1),  # the last one counts, as for json.loads
        ("reorder", 0),
    ],
)
def test_missing_values_are_counted_as_parsing_every_line_would(
    area, sample_records, damage, missing
):
    store, landing = area
    store.land_chunk(landing, _bodies(sample_records[:20]), clean_reading)
    record = reading_of(sample_records[20])
    if damage == "drop Tool wear [min]":
        del record["Tool wear [min]"]
        line = json.dumps(record, separators=(",", ":"))
    elif damage == "duplicate Torque [Nm]":
        line = json.dumps(record, separators=(",", ":"))[:-1] + ',"Torque [Nm]":null}'
    elif damage == "reorder":
        line = json.dumps(dict(reversed(record.items())), separators=(",", ":"))
    else:
        line = json.dumps({**record, **damage}, separators=(",", ":"))
    with open(store.path, "a") as f:
        f.write(line + "\n")
    lines = store.path.read_text().splitlines()
    parsed = dict.fromkeys(READING_FIELDS, 0)
    for field in READING_FIELDS:
        parsed[field] = sum(json.loads(x).get(field) in (None, "") for x in lines)
    assert store.count_missing(READING_FIELDS).missing == parsed
    assert sum(parsed.values()) == missing


def test_a_failed_atomic_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from mlops_demo.core.common import durable

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable, "write_all", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(tmp_path / "registry.json", b"{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("umask", "mode"), [(0o000, 0o644), (0o022, 0o644), (0o077, 0o600)])
def test_file_modes_are_0644_at_most_and_follow_a_stricter_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_atomically(tmp_path / "atomic.json", b"{}")
        append_durably(tmp_path / "appended", b"x\n")
        batch = LandingArea(tmp_path / "landing").land([b"x"])
    finally:
        os.umask(previous)
    for path in (tmp_path / "atomic.json", tmp_path / "appended", batch):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
