"""The code location: every asset, check, job, schedule, sensor and resource, listed here.

Each stream's assets, job and sensor come together from `defs.ingestion`; everything else is
listed by name, so the whole graph is on one screen. Settings set in the environment are bound
with `dg.EnvVar`: the UI's resource page names the variable and never shows its value.
"""

import os

import dagster as dg

from mlops_demo.core.settings import get_settings

# Modules, not names: a second Definitions object at module scope would stop Dagster loading.
from mlops_demo.defs import checks, deployment, inference, ingestion, jobs, monitoring, training
from mlops_demo.defs.io_manager import SafeIOManager
from mlops_demo.defs.resources import ModelRegistryResource, RabbitMQResource, StoreResource
from mlops_demo.defs.sensors import (
    default_automation_condition_sensor,
    retrain_on_drift_or_decay_sensor,
)

_EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}


def _env(name: str) -> dg.EnvVar | None:
    # Unset variables stay None, and the resource falls back to the documented default.
    return dg.EnvVar(name) if os.environ.get(name) else None


defs = dg.Definitions.merge(
    ingestion.readings_ingestion,
    ingestion.statuses_ingestion,
    dg.Definitions(
        assets=[
            training.joined_cleaned_readings_and_statuses,
            training.training_and_test_data,
            training.trained_model,
            deployment.production_model_candidates,
            deployment.deployed_model,
            inference.devices_at_risk,
            monitoring.deployed_model_performance,
        ],
        asset_checks=[
            checks.trained_model_f1_meets_floor,
            checks.deployed_model_matches_registry_hash,
            *checks.store_checks,
            monitoring.cleaned_readings_resemble_training_data,
        ],
        jobs=[jobs.train_ml_model, jobs.deploy_model],
        schedules=[jobs.train_ml_model_schedule],
        sensors=[default_automation_condition_sensor, retrain_on_drift_or_decay_sensor],
        resources={
            "rabbitmq": RabbitMQResource(
                url=_env("MLOPS_BROKER_URL"),
                readings_queue=_env("MLOPS_READINGS_QUEUE"),
                statuses_queue=_env("MLOPS_STATUSES_QUEUE"),
                queue_type=_env("MLOPS_QUEUE_TYPE"),
            ),
            "store": StoreResource(
                url=_env("MLOPS_STORE_URL"),
                db_schema=_env("MLOPS_STORE_SCHEMA"),
                data_dir=_env("MLOPS_DATA_DIR"),
            ),
            "model_registry": ModelRegistryResource(data_dir=_env("MLOPS_DATA_DIR")),
            # Frames and registry entries as JSON: Dagster's default would pickle them.
            "io_manager": SafeIOManager(),
        },
        # One process per step costs seconds each on two cores; MLOPS_EXECUTOR=multiprocess
        # switches.
        executor=_EXECUTORS[get_settings().executor],
    ),
)
