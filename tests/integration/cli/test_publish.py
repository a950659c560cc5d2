"""Publishers on the real broker: exact bodies, offsets, CSV sources and the 'more' prompt."""

import csv
import json
import re
import subprocess
import sys
import time

import pytest
from helpers.cli_runner import run_cli

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.records import (
    ALL_COLUMNS,
    STATUS_FIELDS,
    TARGET,
    UDI,
    reading_of,
    status_of,
)
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.transport import broker

pytestmark = pytest.mark.broker
SENSOR_DATA = REPO_ROOT / "sensor_data"


def _drain(url: str, queue: str) -> list[dict]:
    bodies: list[bytes] = []
    broker.drain(url, queue, bodies.extend)
    return [json.loads(body) for body in bodies]


def test_readings_carry_the_morning_measurements_exactly(broker_url, queues):
    queue = queues["readings"]
    result = run_cli("publish", "readings", "-n", "700", "-o", "100", "--url", broker_url,
                     "--queue", queue)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "published 700 readings (UDI 101-800)" in result.stdout
    assert _drain(broker_url, queue) == [reading_of(rec) for rec in simulate(700, offset=100)]


def test_statuses_for_the_same_udis_agree_with_the_readings(broker_url, queues):
    run_cli(
        "publish",
        "readings",
        "-n",
        "300",
        "-o",
        "50",
        "--url",
        broker_url,
        "--queue",
        queues["readings"],
    )
    run_cli(
        "publish",
        "statuses",
        "-n",
        "300",
        "-o",
        "50",
        "--url",
        broker_url,
        "--queue",
        queues["statuses"],
    )
    readings = _drain(broker_url, queues["readings"])
    statuses = _drain(broker_url, queues["statuses"])
    assert [s[UDI] for s in statuses] == [x[UDI] for x in readings] == list(range(51, 351))
    assert all(set(s) == set(STATUS_FIELDS) for s in statuses)
    expected = {rec[UDI]: rec for rec in simulate(300, offset=50)}
    assert all(s[TARGET] == expected[s[UDI]][TARGET] for s in statuses)


def test_a_csv_source_with_a_byte_order_mark(broker_url, queues, tmp_path):
    path = tmp_path / "machines.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ALL_COLUMNS)
        writer.writeheader()
        writer.writerows(simulate(20))
    run_cli("publish", "statuses", "-n", "5", "-o", "3", "--source", str(path), "--url", broker_url,
          "--queue", queues["statuses"])  # fmt: skip
    assert _drain(broker_url, queues["statuses"]) == [
        status_of(rec) for rec in simulate(5, offset=3)
    ]


@pytest.mark.realdata
def test_the_reference_csv_publishes_as_it_is(broker_url, queues, reference_csv):
    run_cli("publish", "readings", "-n", "3", "--source", str(reference_csv), "--url", broker_url,
          "--queue", queues["readings"])  # fmt: skip
    first = _drain(broker_url, queues["readings"])[0]
    assert first == {
        "UDI": 1,
        "Product ID": "M14860",
        "Type": "M",
        "Air temperature [K]": 298.1,
        "Process temperature [K]": 308.6,
        "Rotational speed [rpm]": 1551,
        "Torque [Nm]": 42.8,
        "Tool wear [min]": 0,
    }


def test_a_bad_csv_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("UDI,Type\n1,L\n")
    result = run_cli("publish", "readings", "--source", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "lacks the columns: Product ID" in result.stderr


def test_a_broker_that_is_down_gives_one_line_and_a_non_zero_exit():
    result = subprocess.run(
        [sys.executable, str(SENSOR_DATA / "publish_sensor_readings.py"), "--url",
         "amqp://guest:guest@127.0.0.1:1/%2F"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: cannot reach the RabbitMQ broker")


def _interactive(script: str, typed: str, url: str, env_queue: dict[str, str]):
    return subprocess.run(
        ["bash", str(SENSOR_DATA / script), "--url", url],
        input=typed,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env_queue},
    )


def test_the_readings_script_publishes_500_more_each_time(broker_url, queues):
    result = _interactive(
        "publish_sensor_readings.sh",
        "more\nwhat now\nmore\nquit\nmore\n",
        broker_url,
        {"MLOPS_READINGS_QUEUE": queues["readings"]},
    )
    assert result.returncode == 0, result.stderr
    assert "published 500 readings (UDI 1-500)" in result.stdout
    assert "published 500 readings (UDI 501-1000)" in result.stdout
    assert "unknown command 'what now': type 'more'" in result.stdout
    # 'quit' ended it: the third 'more' published nothing.
    assert [m[UDI] for m in _drain(broker_url, queues["readings"])] == list(range(1, 1001))


def test_the_statuses_script_ends_cleanly_at_end_of_input(broker_url, queues):
    result = _interactive(
        "publish_machine_statuses.sh",
        "more\n",
        broker_url,
        {"MLOPS_STATUSES_QUEUE": queues["statuses"]},
    )
    assert result.returncode == 0, result.stderr
    assert "published 500 statuses (UDI 1-500)" in result.stdout
    assert broker.queue_depth(broker_url, queues["statuses"]) == 500


def test_a_batch_cut_off_by_the_broker_is_published_again_by_the_next_more(broker_url, queues):
    queue = queues["readings"]
    # One message a transaction (a period is set), so the cut falls inside the batch.
    script = subprocess.Popen(
        ["bash", str(SENSOR_DATA / "publish_sensor_readings.sh"), "--url", broker_url, "-T",
         "0.005"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "MLOPS_READINGS_QUEUE": queue},
    )  # fmt: skip
    script.stdin.write("more\nmore\nquit\n")
    script.stdin.close()
    deadline = time.monotonic() + 30
    while broker.queue_depth(broker_url, queue) < 50:
        assert time.monotonic() < deadline, "the first 'more' published nothing"
        time.sleep(0.01)
    broker.delete_queue(broker_url, queue)  # the messages in it go with it
    output = script.stdout.read()
    assert script.wait(60) == 0, script.stderr.read()
    confirmed = int(re.search(r"(\d+) readings were confirmed \(up to UDI \1\)", output)[1])
    assert 50 <= confirmed < 500
    assert "could not route" in output and "type 'more' to publish the" in output
    first = confirmed + 1
    assert f"published 500 readings (UDI {first}-{first + 499})" in output
    assert [m[UDI] for m in _drain(broker_url, queue)] == list(range(first, first + 500))


def test_quorum_queues_are_declared_by_the_setting_and_a_mismatch_is_one_line(
    env, broker_url, queues, monkeypatch
):
    monkeypatch.setenv("MLOPS_QUEUE_TYPE", "quorum")
    published = run_cli("publish", "readings", "-n", "20")
    assert published.exit_code == 0 and "published 20 readings" in published.stdout
    assert broker.queue_depth(broker_url, queues["readings"], "quorum") == 20
    monkeypatch.setenv("MLOPS_QUEUE_TYPE", "classic")
    refused = run_cli("publish", "readings", "-n", "20")
    assert refused.exit_code == 1
    assert refused.stderr.strip().count("\n") == 0
    assert refused.stderr.startswith(
        f"error: queue {queues['readings']!r} exists as a quorum queue, but MLOPS_QUEUE_TYPE"
    )
