"""Fault injection: crash, disconnect, fill the disk, then count what was lost or doubled.

Each test records a row (fault, messages sent, stored, quarantined, lost, doubled); the table is
printed at the end of the test run.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
from helpers.faults import FAULT_TABLE, RUNNER
from helpers.models import register
from helpers.postgres import POSTGRES_URL, run_sql
from helpers.rabbitmq_node import PrivateNode
from helpers.runs import current_storage

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.records import UDI, reading_of, status_of
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.storage.postgres import PostgresStore
from mlops_demo.core.transport import broker

pytestmark = [pytest.mark.broker, pytest.mark.faults]


def _run(point: str, job: str = "get_all_readings_job") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUNNER), point, job], capture_output=True, text=True, timeout=300
    )


def _rerun(url: str, queue: str) -> subprocess.CompletedProcess:
    """A clean run, once the failed run's unacked messages are back in the queue."""
    _wait_until_requeued(url, queue)
    return _run("none")


def _wait_until_requeued(url: str, queue: str) -> None:
    """The broker returns a dead run's unacked messages to the queue after that run exits, over
    a second or two for thousands of them: wait until the depth has held still for a second."""
    deadline = time.monotonic() + 30
    depths = [-1]
    while time.monotonic() < deadline:
        depths.append(broker.queue_depth(url, queue))
        if len(depths) > 4 and len(set(depths[-5:])) == 1:
            return
        time.sleep(0.25)


def _store_udis(data_dir: Path, name: str = "cleaned_readings.jsonl") -> list[int]:
    path = data_dir / name
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the store ends in a torn line"
    return [json.loads(line)["UDI"] for line in lines[:-1]]


def _quarantined(data_dir: Path) -> int:
    path = data_dir / "quarantined_readings.jsonl"
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def _count(fault: str, sent: list[int], data_dir: Path, quarantined_expected: int = 0) -> None:
    udis = _store_udis(data_dir)
    stored = set(udis)
    lost = len(set(sent) - stored)
    doubled = len(udis) - len(stored)
    quarantined = _quarantined(data_dir)
    FAULT_TABLE.append((fault, len(sent), len(stored), quarantined, lost, doubled))
    assert (lost, doubled, quarantined) == (0, 0, quarantined_expected)
    assert not list((data_dir / "landing" / "readings").glob("*")), "landing batches left behind"


def _publish(url: str, queue: str, n: int) -> list[int]:
    records = simulate(n)
    assert broker.publish(url, queue, [json.dumps(reading_of(x)).encode() for x in records]) == n
    return [x[UDI] for x in records]


@pytest.mark.parametrize(
    "point", ["before_any_write", "after_write_before_ack", "mid_batch", "during_downstream"]
)
def test_a_run_killed_at_any_point_loses_and_doubles_nothing(point, env, broker_url, queues):
    sent = _publish(broker_url, queues["readings"], 12_000)
    killed = _run(point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    rerun = _rerun(broker_url, queues["readings"])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _count(f"SIGKILL {point.replace('_', ' ')}", sent, env)


def _slow_run_with_a_landed_batch(data_dir: Path) -> subprocess.Popen:
    """A readings run whose landing batches take a second each, once its first batch landed."""
    run = subprocess.Popen(
        [sys.executable, str(RUNNER), "slow", "get_all_readings_job"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    landing = data_dir / "landing" / "readings"
    deadline = time.monotonic() + 60
    while not list(landing.glob("*.batch")):
        assert time.monotonic() < deadline and run.poll() is None, "no batch landed"
        time.sleep(0.05)
    return run


def _close_connections_of(pid: int) -> int:
    """Close, from the broker's side, the connections a process opened (as named by broker.py)."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    closed = 0
    for line in listing.stdout.splitlines():
        if f"mlops_demo pid {pid}" in line:
            subprocess.run(
                ["rabbitmqctl", "close_connection", line.split("\t")[0], "fault test"],
                capture_output=True, check=True,
            )  # fmt: skip
            closed += 1
    return closed


def test_the_broker_closing_the_connection_mid_run(env, broker_url, queues):
    sent = _publish(broker_url, queues["readings"], 20_000)
    run = _slow_run_with_a_landed_batch(env)
    assert _close_connections_of(run.pid) == 1
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1, "the run should fail when the broker drops it"
    assert "lost the RabbitMQ broker" in stderr
    assert broker.queue_depth(broker_url, queues["readings"]) > 0
    rerun = _rerun(broker_url, queues["readings"])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _count("broker closed the connection mid-run", sent, env)


def test_a_publisher_killed_mid_batch(env, broker_url, queues):
    publisher = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "sensor_data" / "publish_sensor_readings.py"),
         "-n", "50000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    confirmed = 0
    for line in publisher.stderr:
        match = re.match(r"\s+([\d,]+)/50,000 readings published", line)
        if match:
            confirmed = int(match.group(1).replace(",", ""))
            publisher.send_signal(signal.SIGKILL)
            break
    publisher.wait()
    assert confirmed > 0, "the publisher never reported progress"
    rerun = _run("none")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # Everything it reported as confirmed is stored; what it sent after may be there too.
    _count("publisher killed mid-batch", list(range(1, confirmed + 1)), env)


def test_concurrent_ingestion_and_training_runs(env, broker_url, queues, tmp_path, monkeypatch):
    # One Dagster instance for all runs, so training finds the historic_* outputs.
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    first = simulate(2000)
    broker.publish(
        broker_url, queues["readings"], [json.dumps(reading_of(x)).encode() for x in first]
    )
    broker.publish(
        broker_url, queues["statuses"], [json.dumps(status_of(x)).encode() for x in first]
    )
    for job in ("get_all_readings_job", "get_all_daily_machine_statuses_job"):
        assert _run("none", job).returncode == 0
    more = simulate(20_000, offset=2000)
    broker.publish(
        broker_url, queues["readings"], [json.dumps(reading_of(x)).encode() for x in more]
    )
    runs = [
        subprocess.Popen(
            [sys.executable, str(RUNNER), "none", job], stderr=subprocess.PIPE, text=True
        )
        for job in ("get_all_readings_job", "get_all_readings_job", "train_ml_model")
    ]
    for run in runs:
        assert run.wait(300) == 0, run.stderr.read()[-3000:]
    _count("two ingestion runs and a training run at once", list(range(1, 22_001)), env)


@pytest.fixture
def small_disk(env):
    """The data directory on a 1 MiB tmpfs; skips with the reason where mounting is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the data directory needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(env)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield env
    subprocess.run(["umount", "-l", str(env)], check=False)


def test_a_full_disk_fails_clearly_acks_nothing_unstored_and_catches_up(
    small_disk, broker_url, queues
):
    sent = _publish(broker_url, queues["readings"], 20_000)
    full = _run("none")
    assert full.returncode == 1
    assert "No space left on device" in full.stderr
    assert (
        "were not acked and stay queued" in full.stderr or "landed batches are kept" in full.stderr
    )
    stored = set(_store_udis(small_disk))
    landed = sum(
        len(p.read_bytes().splitlines())
        for p in (small_disk / "landing" / "readings").glob("*.batch")
    )
    _wait_until_requeued(broker_url, queues["readings"])
    waiting = broker.queue_depth(broker_url, queues["readings"])
    assert len(stored) + landed + waiting >= len(sent), "a message was acked but not kept"
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    rerun = _rerun(broker_url, queues["readings"])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _count("full disk, then space freed", sent, small_disk)


SAVE_AND_DIE = """
import os, signal, sys
from pathlib import Path
from mlops_demo.core.registry import storage as registry_storage

original = registry_storage.write_atomically

def write_then_die(path, data):
    if path.suffix == ".pickle":
        # Half the model is on disk under its temporary name when the process dies.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    original(path, data)

def file_then_die(self, name, data):
    # In PostgreSQL: the model's bytes are written in the transaction, then the process dies.
    original_write_file(self, name, data)
    os.kill(os.getpid(), signal.SIGKILL)

registry_storage.write_atomically = write_then_die
original_write_file = registry_storage.PostgresRegistryStorage.write_file
registry_storage.PostgresRegistryStorage.write_file = file_then_die
sys.path.insert(0, sys.argv[2])
from helpers.models import register
from helpers.runs import current_storage
register(current_storage().registry(), {"weights": list(range(100_000))})
"""


@pytest.mark.parametrize("storage", ["folder", "postgres"])
def test_a_model_save_killed_mid_write_leaves_the_registry_whole(tmp_path, monkeypatch, storage):
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MLOPS_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    if storage == "postgres":
        schema = f"test_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv("MLOPS_STORE_URL", POSTGRES_URL)
        monkeypatch.setenv("MLOPS_STORE_SCHEMA", schema)
    else:
        monkeypatch.delenv("MLOPS_STORE_URL", raising=False)
    registry = current_storage().registry()
    try:
        kept = register(registry, {"weights": [1]}, 0.4)
        killed = subprocess.run(
            [sys.executable, "-c", SAVE_AND_DIE, str(tmp_path), str(Path(__file__).parents[1])],
            timeout=60,
        )
        assert killed.returncode == -signal.SIGKILL
        entries = registry.entries()
        assert entries == [kept]
        if storage == "folder":
            models = sorted(p.name for p in registry.storage.directory.glob("*.pickle"))
        else:
            with psycopg2.connect(POSTGRES_URL) as connection, connection.cursor() as cursor:
                cursor.execute(f"SELECT name FROM {schema}.model_files WHERE name LIKE '%.pickle'")
                models = sorted(row[0] for row in cursor.fetchall())
        assert models == [kept.file_name], "a half-written model appeared under a model's name"
        model, _ = registry.load(kept.name)
        assert model == {"weights": [1]}
        again = register(registry, {"weights": [2]}, 0.6)
        assert [e.name for e in registry.entries()] == [kept.name, again.name]
    finally:
        if storage == "postgres":
            run_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    # Sent: the saves that completed before the kill; stored: the entries the registry holds.
    names = [entry.name for entry in entries]
    FAULT_TABLE.append(
        (
            f"model save killed mid-write ({storage} registry entries)",
            1,
            len(names),
            0,
            int(kept.name not in names),
            len(names) - len(set(names)),
        )
    )


@pytest.fixture
def private_node(env, monkeypatch):
    """A RabbitMQ node of the test's own, which the test may restart; every setting points at it."""
    node = PrivateNode()
    try:
        node.start()
    except RuntimeError:
        # Once seen on a loaded machine: the node did not come up. A fresh one, on fresh ports.
        node.stop()
        node.remove()
        node = PrivateNode()
        node.start()
    monkeypatch.setenv("MLOPS_BROKER_URL", node.url)
    try:
        yield node
    finally:
        node.stop()
        node.remove()


def test_a_broker_node_restarted_mid_ingestion_loses_and_doubles_nothing(env, private_node):
    sent = _publish(private_node.url, os.environ["MLOPS_READINGS_QUEUE"], 12_000)
    run = _slow_run_with_a_landed_batch(env)
    private_node.restart()
    _, stderr = run.communicate(timeout=180)
    assert run.returncode == 1 and "RabbitMQ broker" in stderr, stderr[-2000:]
    # Durable queue, persistent messages: what was not acked is still there after the restart.
    assert broker.queue_depth(private_node.url, os.environ["MLOPS_READINGS_QUEUE"]) > 0
    rerun = _run("none")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _count("broker node restarted mid-ingestion", sent, env)


def test_a_broker_node_restarted_mid_publish_keeps_every_confirmed_message(env, private_node):
    publisher = subprocess.Popen(
        # Paced at about 1,000 a second, so the restart lands mid-publish however fast the
        # broker confirms: unpaced, the 50,000 can all be confirmed before the node stops.
        [sys.executable, "-m", "mlops_demo", "publish", "readings", "-n", "50000", "-T", "0.001"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    for line in publisher.stderr:
        if "readings published" in line:
            break
    private_node.restart()
    _, stderr = publisher.communicate(timeout=120)
    assert publisher.returncode == 1, stderr
    match = re.search(r"(\d+) readings were confirmed \(up to UDI (\d+)\)", stderr)
    assert match, stderr
    confirmed = int(match.group(1))
    assert int(match.group(2)) == confirmed and 0 < confirmed < 50_000
    rerun = _run("none")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # Every confirmed message survived the restart; one sent but unconfirmed may be there too.
    _count("broker node restarted mid-publish", list(range(1, confirmed + 1)), env)


@pytest.fixture
def postgres_store(env, monkeypatch, postgres_available) -> PostgresStore:
    """The PostgreSQL store, in a schema of the test's own, for every run the test starts."""
    schema = f"test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("MLOPS_STORE_URL", POSTGRES_URL)
    monkeypatch.setenv("MLOPS_STORE_SCHEMA", schema)
    store = PostgresStore(POSTGRES_URL, schema, "cleaned_readings", "quarantined_readings")
    yield store
    store.drop()


def _count_postgres(fault: str, sent: list[int], store: PostgresStore, data_dir: Path) -> None:
    udis = store.read_frame((UDI,))[UDI].tolist()
    stored = set(udis)
    lost, doubled = len(set(sent) - stored), len(udis) - len(stored)
    quarantined = len(store.quarantined())
    FAULT_TABLE.append((fault, len(sent), len(stored), quarantined, lost, doubled))
    assert (lost, doubled, quarantined) == (0, 0, 0)
    assert not list((data_dir / "landing" / "readings").glob("*")), "landing batches left behind"


@pytest.mark.parametrize(
    "point", ["before_any_write", "after_write_before_ack", "mid_batch", "during_downstream"]
)
def test_a_run_on_the_postgres_store_killed_at_any_point_loses_and_doubles_nothing(
    point, env, broker_url, queues, postgres_store
):
    sent = _publish(broker_url, queues["readings"], 12_000)
    killed = _run(point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    rerun = _rerun(broker_url, queues["readings"])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _count_postgres(f"SIGKILL {point.replace('_', ' ')} (PostgreSQL)", sent, postgres_store, env)


def test_the_database_ending_the_session_mid_batch(env, broker_url, queues, postgres_store):
    sent = _publish(broker_url, queues["readings"], 20_000)
    run = subprocess.Popen(
        [sys.executable, str(RUNNER), "slow", "get_all_readings_job"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Every session the run opens is ended until it fails: ending only the first one seen could
    # hit a short one (creating the tables) after its work, which fails nothing.
    terminated = 0
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline:
        terminated += _terminate_sessions_of(run.pid)
        time.sleep(0.005)
    _, stderr = run.communicate(timeout=120)
    assert terminated, "the run's database session was never seen"
    assert run.returncode == 1, stderr[-2000:]
    rerun = _rerun(broker_url, queues["readings"])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _count_postgres("database ended the session mid-batch", sent, postgres_store, env)


def _terminate_sessions_of(pid: int) -> int:
    """pg_terminate_backend on the sessions a process opened (as named by the store)."""
    connection = psycopg2.connect(POSTGRES_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"mlops_demo pid {pid}",),
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()
