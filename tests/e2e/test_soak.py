"""The soak: many readings through a real `dagster dev`, with faults at random points.

The sensors and runs of a real `dagster dev` ingest the readings while the test publishes them in
chunks and, at seeded random points, mixes in bad bodies, republishes a stretch already sent, and
SIGKILLs an ingestion run's process mid-run. At the end every reading is stored exactly once,
every bad body is quarantined, nothing waits in the queue or the landing area, and the
long-lived processes' memory is printed at the start and the end.

    MLOPS_SOAK_READINGS=1000000 MLOPS_SOAK_SEED=7 .venv/bin/pytest tests/e2e/test_soak.py -s

CI runs 5,000 readings; the figures of a full run are in docs/reliability.md.
"""

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
from helpers.runs import current_storage, quarantined, stored_udis

from mlops_demo.core.messages.records import reading_of
from mlops_demo.core.messages.streams import READINGS
from mlops_demo.core.plant.simulator import iter_records
from mlops_demo.core.transport import broker
from mlops_demo.devserver.dagster_dev import DagsterDev

pytestmark = [pytest.mark.broker, pytest.mark.e2e, pytest.mark.soak]
READINGS_SENSOR = "min_number_of_readings_sensor"
# The readings go out in about CHUNKS chunks, each followed by its faults.
CHUNKS, MIN_CHUNK, MAX_CHUNK = 8, 500, 50_000
FAULTS = ("bad bodies", "republished", "runs killed")
LONG_LIVED = {"dagster dev": "dagster dev", "webserver": "dagster_webserver",
              "daemon": "dagster._daemon", "code server": "code-server start",
              "code location": "api grpc"}  # fmt: skip


def _processes(group: int) -> dict[int, str]:
    """pid -> command line of every process in the group."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ProcessLookupError):
            continue
    return found


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _long_lived_rss(group: int) -> dict[str, float]:
    rss = {}
    for pid, cmdline in _processes(group).items():
        for name, marker in LONG_LIVED.items():
            if marker in cmdline and name not in rss:
                rss[name] = _rss_mb(pid)
    return rss


def _kill_a_running_ingestion(group: int, timeout: float = 60) -> bool:
    """SIGKILL the process of a run in progress (the gRPC code server starts each run as a
    multiprocessing child); False when none ran within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes = _processes(group)
        servers = {pid for pid, cmd in processes.items() if "api grpc" in cmd}
        for pid in processes:
            try:
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            if parent in servers and "spawn_main" in processes[pid]:
                os.kill(pid, signal.SIGKILL)
                return True
        time.sleep(0.05)
    return False


def _bad_bodies(rng: random.Random, tag: int) -> list[bytes]:
    return [f"soak bad body {tag}-{i} {rng.random()}".encode() for i in range(rng.randint(1, 20))]


def test_many_readings_with_faults_at_random_points_are_each_stored_once(
    env, tmp_path, broker_url, queues, monkeypatch
):
    # Runs start from 100 waiting messages, so a short last chunk is ingested too.
    monkeypatch.setenv("MLOPS_MIN_BATCH", "100")
    total = int(os.environ.get("MLOPS_SOAK_READINGS") or 5_000)
    seed = int(os.environ.get("MLOPS_SOAK_SEED") or random.randrange(10**6))
    rng = random.Random(seed)
    print(f"\nsoak: {total:,} readings, seed {seed} (MLOPS_SOAK_SEED={seed} replays it)")
    dev = DagsterDev(home=tmp_path / "home")
    dev.start()
    try:
        dev.wait_until_ready()
        dev.ensure_sensor_running(READINGS_SENSOR)
        started_rss = _long_lived_rss(dev.process_group)
        faults = _publish_with_faults(dev, rng, total, broker_url, queues["readings"])
        _wait_until_stored(total, broker_url, queues["readings"])
        ended_rss = _long_lived_rss(dev.process_group)
    finally:
        dev.stop()
    udis = stored_udis(READINGS)
    assert len(udis) == len(set(udis)) == total and set(udis) == set(range(1, total + 1))
    assert len(quarantined(READINGS)) == faults["bad bodies"]
    print(f"soak faults: {faults}")
    for name in LONG_LIVED:
        print(f"soak RSS {name:<12} {started_rss.get(name, 0):7.0f} MB -> "
              f"{ended_rss.get(name, 0):7.0f} MB")  # fmt: skip


def _publish_with_faults(dev, rng: random.Random, total: int, url: str, queue: str) -> dict:
    """Publish in chunks; each kind of fault strikes after at least one chunk chosen at random
    (never the last: its batches would wait out the sensors' retry delay), and after others
    with some chance."""
    records = iter_records()
    chunk_size = min(MAX_CHUNK, max(MIN_CHUNK, total // CHUNKS))
    chunks = -(-total // chunk_size)
    strikes = {kind: {rng.randrange(max(1, chunks - 1))} for kind in FAULTS}
    faults = dict.fromkeys(FAULTS, 0)
    sent: list[bytes] = []
    for index in range(chunks):
        chunk = [json.dumps(reading_of(next(records))).encode()
                 for _ in range(min(chunk_size, total - len(sent)))]  # fmt: skip
        hits = (
            {k for k in FAULTS if index in strikes[k] or rng.random() < 0.2}
            if index < chunks - 1
            else set()
        )
        extra: list[bytes] = []
        if "bad bodies" in hits:
            extra += _bad_bodies(rng, index)
            faults["bad bodies"] += len(extra)
        if "republished" in hits and sent:
            start = rng.randrange(len(sent))
            again = sent[start : start + rng.randint(1, 500)]
            faults["republished"] += len(again)
            extra += again
        sent += chunk
        broker.publish(url, queue, chunk + extra)
        if "runs killed" in hits and _kill_a_running_ingestion(dev.process_group):
            faults["runs killed"] += 1
    return faults


def _wait_until_stored(total: int, url: str, queue: str) -> None:
    # A killed run's landed batches wait for the sensors' retry after a failure (60 s).
    deadline = time.monotonic() + 180 + total / 200
    landing, store = current_storage().landing(READINGS), current_storage().store(READINGS)
    while time.monotonic() < deadline:
        if (
            store.row_count() >= total
            and broker.queue_depth(url, queue) == 0
            and not landing.batches()
        ):
            return
        time.sleep(1)
    raise AssertionError(f"after the wait, {store.row_count()} of {total} readings are stored")
