"""End to end through a real `dagster dev`: the walkthrough, automation, Ctrl+C, and reset."""

import os
import re
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
from helpers.runs import current_storage, stored_udis

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.core.transport import broker
from mlops_demo.devserver.processes import free_port, group_alive, running_dagster_processes

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def _restore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(*args: str, preexec=_restore_sigint) -> subprocess.Popen:
    """`mlops-demo ARGS` in its own session, as a terminal would start it."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_demo", *args],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=preexec,
    )


def _group_of(line: str) -> int:
    return int(line.split("process group ")[1].split(")")[0])


def _wait_gone(group: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_alive(group):
            return True
        time.sleep(0.2)
    return False


def _automated_materializations(instance: dg.DagsterInstance, asset: str) -> list:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=50).records
    automated = []
    for record in records:
        tags = instance.get_run_by_id(record.run_id).tags
        if any(
            key.startswith("dagster/from_automation") or "automation_condition" in key
            for key in tags
        ):
            automated.append(record)
    return automated


def _assert_the_loop_ran(output: str, env, instance: dg.DagsterInstance) -> None:
    assert sorted(stored_udis(READINGS)) == list(range(1, 2001))
    assert sorted(stored_udis(STATUSES)) == list(range(1, 2001))
    assert "joined_cleaned_readings_and_statuses: num_matches = 500" in output
    for models in ("1 model", "2 models", "3 models"):
        assert f"production_model_candidates materialized by itself ({models}, each" in output
    registry = current_storage().registry()
    first, second, third = registry.entries()
    status = registry.statuses()[second.name]
    assert f"the gate: {second.name} is " in output and second.gate.reason in output
    # The retrain's deployment (forced when the gate rejected it), the rollback, and the model
    # trained on every status before the drift:
    assert registry.deployed_name() == third.name and status == "retired"
    history = registry.history()
    assert [(d.model, d.rollback) for d in history] == [
        (first.name, False),
        (second.name, False),
        (first.name, True),
        (third.name, False),
    ]
    assert history[1].forced == (not second.gate.passed)
    assert f"model_name: {first.name}" in output and f"model_name: {second.name}" in output
    assert "model_name: previous" in output
    _assert_every_scoring_scored_nearly_all_and_said_why(output)
    _assert_freshness_is_reported_in_phases(output)
    assert len(_automated_materializations(instance, "production_model_candidates")) == 3
    _assert_each_deployment_was_scored_in_its_run(instance, len(history))
    _assert_monitoring_reacted_to_the_drift(output, third.name, instance)


def _assert_every_scoring_scored_nearly_all_and_said_why(output: str) -> None:
    scorings = re.findall(r"(\d+) machines' status is unknown; (\d+) scored, (\d+) refused", output)
    # Three deployments with readings waiting; the fourth comes once every status is in.
    assert len(scorings) == 3
    assert "devices_at_risk ran in the same run" in output
    assert "every reading has its status: nothing is waiting to be scored" in output
    for unknown, scored, refused in scorings:
        assert int(scored) + int(refused) == int(unknown) and int(refused) <= 0.05 * int(unknown)
    # Each machine at risk with its mode, its margin and the crew's action.
    at_risk = re.findall(
        r"UDI \d+ \([LMH]\d+\), probability [\d.]+: ([a-z ]+), (.+) -> (.+)", output
    )
    assert at_risk and {mode for mode, _, _ in at_risk} <= {
        "heat dissipation", "power", "overstrain", "tool wear", "unexplained"
    }  # fmt: skip


def _assert_each_deployment_was_scored_in_its_run(instance, deployments: int) -> None:
    runs = instance.get_run_records(dg.RunsFilter(job_name="deploy_model"))
    assert len(runs) == deployments
    scored = {
        record.run_id
        for record in instance.fetch_materializations(
            dg.AssetKey("devices_at_risk"), limit=50
        ).records
    }
    assert {run.dagster_run.run_id for run in runs} <= scored
    for run in runs:
        assert run.dagster_run.tags["mlops_demo/scored_with_model"]


def _assert_freshness_is_reported_in_phases(output: str) -> None:
    assert "tick wait    queued     start      work" in output
    rows = re.findall(r"^(\w.+?(?:rows\)|scored))\s+([\d.]+)((?:\s+[\d.]+){4})$", output, re.M)
    assert len(rows) >= 8, output[-3000:]
    for name, total, phases in rows:
        # The phases cover the whole time (each rounded to a tenth).
        assert abs(sum(map(float, phases.split())) - float(total)) <= 0.25, name
    assert re.search(
        r"published -> stored: median [\d.]+ s, slowest [\d.]+ s, over \d+ batches", output
    )
    assert re.search(r"deployment -> devices_at_risk: fastest [\d.]+ s, slowest [\d.]+ s", output)
    assert "goal" not in output and "MISSED" not in output


def _assert_monitoring_reacted_to_the_drift(output: str, model: str, instance) -> None:
    assert (
        "cleaned_readings_resemble_training_data: WARNING: sensor fault: Torque [Nm] or "
        "Rotational speed [rpm] off the speed-torque curve" in output
    )
    # The decay that follows is the fault's: the response is to fix the sensor, not retrain.
    assert "Fix the sensor first; no retrain (Torque [Nm] or Rotational speed [rpm]" in output
    assert "distribution / Torque [Nm] (p=" in output
    drift = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey("cleaned_readings"), "cleaned_readings_resemble_training_data")
    ).event.dagster_event.event_specific_data
    # Only what the torque scenario changes: torque, the power made from it, its relation to
    # speed; no temperature, though they wandered since the training readings.
    drifted = set(drift.metadata["drifted_features"].value)
    assert "Torque [Nm]" in drifted
    assert drifted <= {"Torque [Nm]", "mechanical power [W]", "speed for its torque"}
    newest = instance.fetch_materializations(
        dg.AssetKey("deployed_model_performance"), limit=1
    ).records[0]
    performance = {k: v.value for k, v in newest.asset_materialization.metadata.items()}
    assert (performance["deployed_model"], performance["labelled_predictions"]) == (model, 500)
    assert performance["realized_f1"] < performance["test_f1"]
    assert f"deployed_model_performance of {model} (test F1 " in output
    assert len(_automated_materializations(instance, "deployed_model_performance")) >= 2


def _assert_new_readings_refresh_devices_at_risk(instance: dg.DagsterInstance) -> None:
    """New readings alone refresh devices_at_risk through the running automation sensor."""
    published_at = time.time()
    published = subprocess.run(
        [sys.executable, str(REPO_ROOT / "sensor_data" / "publish_sensor_readings.py"),
         "-n", "500", "-o", "2000"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    # A refresh for the last statuses may still come first (nothing unknown then): wait for the
    # one that scores the new readings.
    deadline = time.monotonic() + 120
    while True:
        newest = _automated_materializations(instance, "devices_at_risk")[0]
        metadata = newest.asset_materialization.metadata
        if newest.timestamp > published_at and metadata["num_unknown"].value == 500:
            break
        assert time.monotonic() < deadline, "devices_at_risk did not follow the new readings"
        time.sleep(1)
    assert set(metadata["devices_at_risk"].value) <= set(range(2001, 2501))


def _reset(home) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlops_demo", "reset", "--yes", "--dagster-home", str(home)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# PostgreSQL for both: the JSONL store with a SQLite instance runs the same loop through a real
# dagster dev in the browser walkthrough (test_ui_walkthrough.py), and once is enough for each.
@pytest.mark.parametrize("backend", ["postgres+postgres"], indirect=True)
def test_the_walkthrough_runs_the_whole_loop_and_automation_follows(
    env, backend, tmp_path, broker_url, queues
):
    home = tmp_path / "dagster_home"
    walkthrough = _start("walkthrough", "--dagster-home", str(home), "--keep-running")
    output, _ = walkthrough.communicate(timeout=900)
    group = next((_group_of(line) for line in output.splitlines() if "process group" in line), None)
    try:
        assert walkthrough.returncode == 0, output[-4000:]
        instance = dg.DagsterInstance.from_config(str(home))
        _assert_the_loop_ran(output, env, instance)
        reset = _reset(home)
        assert reset.returncode == 1 and "dagster dev is running" in reset.stderr
        _assert_new_readings_refresh_devices_at_risk(instance)
    finally:
        if group is not None:
            os.killpg(group, signal.SIGTERM)
            # Shutting down webserver, daemon and code server takes a while on a loaded machine.
            stopped = _wait_gone(group, 90)
            if not stopped:
                os.killpg(group, signal.SIGKILL)
    assert group is not None and stopped, "dagster dev did not stop within 90 s of SIGTERM"
    assert running_dagster_processes(home) == [], "a dagster process escaped its process group"

    reset = _reset(home)
    assert reset.returncode == 0, reset.stderr
    assert stored_udis(READINGS) == [] and not (env / "cleaned_readings.jsonl").exists()
    assert (
        current_storage().registry().entries() == []
    )  # trained-models/, or the PostgreSQL registry
    assert [p.name for p in home.iterdir()] == ["dagster.yaml"]
    assert broker.queue_depth(broker_url, queues["readings"]) == 0


def _ignoring_sigint() -> None:
    # What a background shell job (`bash .ci/run &`, nohup) inherits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("command", "stop", "exit_code"),
    [
        ("walkthrough", signal.SIGINT, 130),
        ("walkthrough", signal.SIGTERM, 143),
        ("dev", signal.SIGTERM, 143),
    ],
)
def test_a_stop_signal_stops_dagster_dev_and_everything_it_started_whatever_was_inherited(
    env, tmp_path, command, stop, exit_code
):
    home = tmp_path / "home"
    port_option = "-p" if command == "dev" else "--port"
    started = _start(
        command, "--dagster-home", str(home), port_option, str(free_port()),
        preexec=_ignoring_sigint,
    )  # fmt: skip
    group = None
    for line in started.stdout:
        if "process group" in line:
            group = _group_of(line)
            break
    assert group is not None, f"mlops-demo {command} never started dagster dev"
    time.sleep(3)
    started.send_signal(stop)
    output, _ = started.communicate(timeout=90)
    assert started.returncode == exit_code, output
    assert "stopping dagster dev" in output and signal.Signals(stop).name in output
    assert _wait_gone(group, 10), "processes of dagster dev outlived the command"
    assert running_dagster_processes(home) == []
