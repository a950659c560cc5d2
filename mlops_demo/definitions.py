"""The code location: every asset, job, sensor and resource, listed once."""

import dagster as dg

from mlops_demo import ingestion, jobs, sensors
from mlops_demo.resources import DataDirResource, RabbitMQResource
from mlops_demo.settings import get_settings

_EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}

defs = dg.Definitions(
    assets=[
        ingestion.sensor_readings,
        ingestion.cleaned_readings,
        ingestion.historic_readings,
        ingestion.daily_machine_statuses,
        ingestion.cleaned_daily_statuses,
        ingestion.historic_daily_statuses,
    ],
    jobs=[jobs.get_all_readings_job, jobs.get_all_daily_machine_statuses_job],
    sensors=[sensors.min_number_of_readings_sensor, sensors.min_number_of_machine_statuses_sensor],
    resources={"rabbitmq": RabbitMQResource(), "data": DataDirResource()},
    # One process per step costs seconds each on two cores; MLOPS_EXECUTOR=multiprocess switches.
    executor=_EXECUTORS[get_settings().executor],
)
