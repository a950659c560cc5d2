"""The code location loads, and its asset, job and sensor names are exactly the product's."""

import subprocess
import sys

import dagster as dg

from mlops_demo.definitions import defs
from mlops_demo.settings import REPO_ROOT

INGESTION_ASSETS = {
    "sensor_readings",
    "cleaned_readings",
    "historic_readings",
    "daily_machine_statuses",
    "cleaned_daily_statuses",
    "historic_daily_statuses",
}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


GROUPS = {
    "ingestion": INGESTION_ASSETS,
    "model_training": {
        "joined_cleaned_readings_and_statuses",
        "training_data",
        "test_data",
        "trained_model",
    },
    "deployment": {"production_model_candidates", "deployed_model"},
    "inference": {"devices_at_risk"},
}


def test_asset_names_and_groups():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {asset: group for group, assets in GROUPS.items() for asset in assets}


def test_automation_covers_candidates_and_devices_at_risk_only():
    graph = defs.resolve_asset_graph()
    automated = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    assert automated == {"production_model_candidates", "devices_at_risk"}


def test_job_names_and_selections():
    readings = defs.resolve_job_def("get_all_readings_job")
    statuses = defs.resolve_job_def("get_all_daily_machine_statuses_job")
    assert {k.to_user_string() for k in readings.asset_layer.selected_asset_keys} == {
        "sensor_readings",
        "cleaned_readings",
        "historic_readings",
    }
    assert {k.to_user_string() for k in statuses.asset_layer.selected_asset_keys} == {
        "daily_machine_statuses",
        "cleaned_daily_statuses",
        "historic_daily_statuses",
    }


def test_training_job_and_its_stopped_schedule():
    job = defs.resolve_job_def("train_ml_model")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == GROUPS[
        "model_training"
    ]
    [schedule] = defs.schedules
    assert (schedule.name, schedule.job_name) == ("train_ml_model_schedule", "train_ml_model")
    assert schedule.cron_schedule == "*/10 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_sensor_names_run_by_default():
    sensors = {sensor.name: sensor for sensor in defs.sensors}
    assert set(sensors) == {
        "min_number_of_readings_sensor",
        "min_number_of_machine_statuses_sensor",
        "default_automation_condition_sensor",
    }
    for name in sensors:
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
        # Ticks every 5 s: see sensors.daemon_interval for why the minimum says 4.
        assert sensors[name].minimum_interval_seconds == 4


def test_dagster_cli_finds_the_project_instance_from_the_root_and_from_the_package_folder():
    dagster = [sys.executable, "-m", "dagster", "definitions", "validate"]
    for cwd in (REPO_ROOT, REPO_ROOT / "mlops_demo"):
        # A shell sets PWD; the .env files build DAGSTER_HOME from it.
        env = {"PATH": "/usr/bin:/bin", "PWD": str(cwd)}
        result = subprocess.run(dagster, cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Validation successful for code location mlops_demo" in result.stdout + result.stderr
