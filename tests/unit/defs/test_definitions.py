"""The code location loads, and its asset, check, job, sensor and resource names are exactly the
product's, under one code location name on every route."""

import tomllib

import dagster as dg
import yaml

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.definitions import defs
from mlops_demo.defs.deployment.settings import DeploymentSettings
from mlops_demo.defs.housekeeping.settings import HousekeepingSettings
from mlops_demo.defs.inference.settings import InferenceSettings
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.io_manager import SafeIOManager
from mlops_demo.defs.monitoring.settings import MonitoringSettings
from mlops_demo.defs.resources import RabbitMQResource, StorageResource
from mlops_demo.defs.training.settings import GateSettings, TrainingSettings
from mlops_demo.devserver.dagster_dev import LOCATION

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
    "monitoring": {"deployed_model_performance"},
}


def test_asset_names_and_groups():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {asset: group for group, assets in GROUPS.items() for asset in assets}


def test_automation_covers_candidates_devices_at_risk_and_performance_only():
    graph = defs.resolve_asset_graph()
    automated = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    assert automated == {
        "production_model_candidates",
        "devices_at_risk",
        "deployed_model_performance",
    }


def test_job_names_and_selections():
    named = {job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")}
    assert named == {
        "get_all_readings_job",
        "get_all_daily_machine_statuses_job",
        "train_ml_model",
        "deploy_model",
        "clean_up_dagster_history",
    }
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


def test_training_job_and_its_stopped_schedule_and_the_nightly_cleanup():
    job = defs.resolve_job_def("train_ml_model")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == GROUPS[
        "model_training"
    ]
    schedules = {
        schedule.name: (schedule.job_name, schedule.cron_schedule, schedule.default_status)
        for schedule in defs.schedules
    }
    assert schedules == {
        "train_ml_model_schedule": (
            "train_ml_model",
            "*/10 * * * *",
            dg.DefaultScheduleStatus.STOPPED,
        ),
        "clean_up_dagster_history_schedule": (
            "clean_up_dagster_history",
            "30 3 * * *",
            dg.DefaultScheduleStatus.RUNNING,
        ),
    }


def test_the_deployment_job_scores_in_the_same_run():
    job = defs.resolve_job_def("deploy_model")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {
        "deployed_model",
        "devices_at_risk",
    }


def test_sensor_names_and_which_run_by_default():
    sensors = {sensor.name: sensor for sensor in defs.sensors}
    assert {name: sensor.default_status for name, sensor in sensors.items()} == {
        "min_number_of_readings_sensor": dg.DefaultSensorStatus.RUNNING,
        "min_number_of_machine_statuses_sensor": dg.DefaultSensorStatus.RUNNING,
        "default_automation_condition_sensor": dg.DefaultSensorStatus.RUNNING,
        # Closing the loop is a choice the user makes, like the schedule.
        "retrain_on_drift_or_decay_sensor": dg.DefaultSensorStatus.STOPPED,
        # Running, and idle until MLOPS_AUTO_DEPLOY=promoted: one switch, not two.
        "deploy_promoted_model_sensor": dg.DefaultSensorStatus.RUNNING,
    }
    for name in sensors:
        # Ticks every 5 s: see sensors.daemon_interval for why the minimum says 4.
        assert sensors[name].minimum_interval_seconds == 4
    assert sensors["retrain_on_drift_or_decay_sensor"].job_name == "train_ml_model"
    assert sensors["deploy_promoted_model_sensor"].job_name == "deploy_model"


def test_every_asset_declares_its_kinds():
    graph = defs.resolve_asset_graph()
    kinds = {key.to_user_string(): graph.get(key).kinds for key in graph.get_all_asset_keys()}
    assert {asset for asset, declared in kinds.items() if not declared} == set()
    assert kinds["sensor_readings"] == {"rabbitmq"}
    assert kinds["cleaned_readings"] == {"jsonl"}
    assert kinds["trained_model"] == {"scikitlearn"}
    assert kinds["deployed_model_performance"] == {"pandas"}


def test_asset_check_names():
    graph = defs.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert checks == {
        ("trained_model", "trained_model_f1_meets_floor"),
        ("deployed_model", "deployed_model_matches_registry_hash"),
        ("cleaned_readings", "cleaned_readings_has_every_required_column"),
        ("cleaned_readings", "cleaned_readings_quarantine_share_below_limit"),
        ("cleaned_daily_statuses", "cleaned_daily_statuses_has_every_required_column"),
        ("cleaned_daily_statuses", "cleaned_daily_statuses_quarantine_share_below_limit"),
        ("cleaned_readings", "cleaned_readings_resemble_training_data"),
        ("devices_at_risk", "devices_at_risk_scored_only_unknown_readings"),
        ("devices_at_risk", "devices_at_risk_refused_share_below_limit"),
        ("deployed_model_performance", "deployed_model_performance_realized_f1_holds"),
        ("deployed_model_performance", "deployed_model_performance_statuses_keep_arriving"),
    }
    # Evaluated inside the step that makes the asset they judge, on what it just made.
    devices_at_risk = defs.resolve_assets_def("devices_at_risk")
    assert {key.name for key in devices_at_risk.check_keys} == {
        "devices_at_risk_scored_only_unknown_readings",
        "devices_at_risk_refused_share_below_limit",
    }
    performance = defs.resolve_assets_def("deployed_model_performance")
    assert {key.name for key in performance.check_keys} == {
        "deployed_model_performance_realized_f1_holds",
        "deployed_model_performance_statuses_keep_arriving",
    }
    blocking = {key.name for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    assert blocking == {"trained_model_f1_meets_floor", "deployed_model_matches_registry_hash"}


def test_each_ingestion_job_is_one_step_with_its_checks():
    # Each step is a share of Dagster's cost per run (docs/benchmarks.md): an ingestion run
    # drains, stores, summarises and checks in one.
    for job_name, cleaned, step in (
        ("get_all_readings_job", "cleaned_readings", "ingest_readings"),
        ("get_all_daily_machine_statuses_job", "cleaned_daily_statuses", "ingest_daily_statuses"),
    ):
        job = defs.resolve_job_def(job_name)
        [node] = job.graph.nodes
        ingest = defs.resolve_assets_def(cleaned)
        assert node.name == ingest.node_def.name == step
        assert {key.asset_key.to_user_string() for key in ingest.check_keys} == {cleaned}
        assert ingest.can_subset


def test_resources_are_the_broker_the_storage_each_stages_settings_and_the_safe_io_manager():
    kinds = {key: type(resource) for key, resource in defs.resources.items()}
    assert kinds == {
        "rabbitmq": RabbitMQResource,
        "storage": StorageResource,
        "ingestion_settings": IngestionSettings,
        "training_settings": TrainingSettings,
        "gate_settings": GateSettings,
        "deployment_settings": DeploymentSettings,
        "inference_settings": InferenceSettings,
        "monitoring_settings": MonitoringSettings,
        "housekeeping_settings": HousekeepingSettings,
        "io_manager": SafeIOManager,
    }


def test_one_code_location_name_on_every_route():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    workspace = yaml.safe_load((REPO_ROOT / "mlops_demo" / "workspace.yaml").read_text())
    names = {
        "dagster dev (pyproject)": pyproject["tool"]["dagster"]["code_location_name"],
        "dg dev": pyproject["tool"]["dg"]["project"]["code_location_name"],
        "cd mlops_demo && dagster dev": workspace["load_from"][0]["python_module"]["location_name"],
        "mlops-demo dev and walkthrough": LOCATION,
    }
    assert set(names.values()) == {"mlops_demo"}, names
