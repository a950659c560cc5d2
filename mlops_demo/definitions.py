"""The code location: every asset, job, schedule, sensor and resource, listed once."""

import dagster as dg

from mlops_demo import deployment, inference, ingestion, jobs, sensors, training
from mlops_demo.resources import DataDirResource, RabbitMQResource
from mlops_demo.settings import get_settings

_EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}

# Dagster's automatic automation sensor starts stopped and ticks every 30 s; this one runs from
# the start and ticks every 5 s, so candidates and devices at risk follow their inputs promptly.
default_automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=sensors.daemon_interval(get_settings().sensor_interval_seconds),
)

defs = dg.Definitions(
    assets=[
        ingestion.sensor_readings,
        ingestion.cleaned_readings,
        ingestion.historic_readings,
        ingestion.daily_machine_statuses,
        ingestion.cleaned_daily_statuses,
        ingestion.historic_daily_statuses,
        training.joined_cleaned_readings_and_statuses,
        training.training_and_test_data,
        training.trained_model,
        deployment.production_model_candidates,
        deployment.deployed_model,
        inference.devices_at_risk,
    ],
    jobs=[jobs.get_all_readings_job, jobs.get_all_daily_machine_statuses_job, jobs.train_ml_model],
    schedules=[jobs.train_ml_model_schedule],
    sensors=[
        sensors.min_number_of_readings_sensor,
        sensors.min_number_of_machine_statuses_sensor,
        default_automation_condition_sensor,
    ],
    resources={"rabbitmq": RabbitMQResource(), "data": DataDirResource()},
    # One process per step costs seconds each on two cores; MLOPS_EXECUTOR=multiprocess switches.
    executor=_EXECUTORS[get_settings().executor],
)
