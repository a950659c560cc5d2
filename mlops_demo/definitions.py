"""The code location: every asset, check, job, schedule, sensor and resource, listed here.

The resources come from the environment in one place (`defs.resources.resources_from_env`); what
Dagster must know while it loads (the store's kind, the sensors' interval, the executor, the
ingestion runs' time limit) is read from the same settings, so the resource page shows exactly
what the code location runs with.
"""

from collections.abc import Mapping

import dagster as dg

# Modules, not names: a second Definitions object at module scope would stop Dagster loading.
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.defs import checks, deployment, inference, ingestion, jobs, monitoring, training
from mlops_demo.defs.resources import SettingsResource, from_env, resources_from_env
from mlops_demo.defs.sensors import (
    default_automation_condition_sensor,
    retrain_on_drift_or_decay_sensor,
)

_EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The code location as the environment (`os.environ` unless given) configures it."""
    loaded_with = from_env(SettingsResource, environ)
    interval = loaded_with.sensor_interval_seconds
    return dg.Definitions.merge(
        ingestion.stream_ingestion(READINGS, ingestion.READINGS_NAMES, loaded_with),
        ingestion.stream_ingestion(STATUSES, ingestion.STATUSES_NAMES, loaded_with),
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
            ],
            jobs=[jobs.train_ml_model, jobs.deploy_model],
            schedules=[jobs.train_ml_model_schedule],
            sensors=[
                default_automation_condition_sensor(interval),
                retrain_on_drift_or_decay_sensor(interval),
            ],
            resources=resources_from_env(environ),
            # One process per step costs seconds each on two cores; MLOPS_EXECUTOR=multiprocess
            # switches.
            executor=_EXECUTORS[loaded_with.executor],
        ),
    )


defs = build_definitions()
