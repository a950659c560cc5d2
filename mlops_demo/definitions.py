"""The code location: every asset, check, job, schedule, sensor and resource, listed here by
stage.

The resources come from the environment in one place (`defs.resources.resources_from_env`); what
Dagster must know while it loads (the executor, the sensors' interval and watch, the ingestion
runs' time limit, and the store's kind shown on the assets) is read by the same rule into
`CodeLocationSettings`.
"""

from collections.abc import Mapping

import dagster as dg

# Modules, not names: a second Definitions object at module scope would stop Dagster loading.
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.defs import automation
from mlops_demo.defs.deployment import assets as deployment
from mlops_demo.defs.deployment import checks as deployment_checks
from mlops_demo.defs.deployment import jobs as deployment_jobs
from mlops_demo.defs.deployment import sensors as deployment_sensors
from mlops_demo.defs.housekeeping import jobs as housekeeping
from mlops_demo.defs.inference import assets as inference
from mlops_demo.defs.ingestion import assets as ingestion
from mlops_demo.defs.monitoring import assets as monitoring
from mlops_demo.defs.resources import (
    CodeLocationSettings,
    StorageResource,
    from_env,
    resources_from_env,
)
from mlops_demo.defs.training import assets as training
from mlops_demo.defs.training import checks as training_checks
from mlops_demo.defs.training import jobs as training_jobs
from mlops_demo.defs.training import sensors as training_sensors

_EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The code location as the environment (`os.environ` unless given) configures it."""
    loaded_with = from_env(CodeLocationSettings, environ)
    store_kind = from_env(StorageResource, environ).backend.kind
    interval = loaded_with.sensor_interval_seconds
    return dg.Definitions.merge(
        ingestion.stream_ingestion(READINGS, ingestion.READINGS_NAMES, loaded_with, store_kind),
        ingestion.stream_ingestion(STATUSES, ingestion.STATUSES_NAMES, loaded_with, store_kind),
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
                training_checks.trained_model_f1_meets_floor,
                deployment_checks.deployed_model_matches_registry_hash,
            ],
            jobs=[
                training_jobs.train_ml_model,
                deployment_jobs.deploy_model,
                housekeeping.clean_up_dagster_history,
            ],
            schedules=[
                training_jobs.train_ml_model_schedule,
                housekeeping.clean_up_dagster_history_schedule,
            ],
            sensors=[
                automation.default_automation_condition_sensor(interval),
                training_sensors.retrain_on_drift_or_decay_sensor(interval),
                deployment_sensors.deploy_promoted_model_sensor(interval),
            ],
            resources=resources_from_env(environ),
            # One process per step costs seconds each on two cores; MLOPS_EXECUTOR=multiprocess
            # switches.
            executor=_EXECUTORS[loaded_with.executor],
        ),
    )


defs = build_definitions()
