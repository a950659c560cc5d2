"""Jobs: one per ingestion chain."""

import dagster as dg

from mlops_demo import ingestion

get_all_readings_job = dg.define_asset_job(
    "get_all_readings_job",
    selection=[ingestion.sensor_readings, ingestion.cleaned_readings, ingestion.historic_readings],
    description="Drain the readings queue into the store.",
)
get_all_daily_machine_statuses_job = dg.define_asset_job(
    "get_all_daily_machine_statuses_job",
    selection=[
        ingestion.daily_machine_statuses,
        ingestion.cleaned_daily_statuses,
        ingestion.historic_daily_statuses,
    ],
    description="Drain the daily statuses queue into the store.",
)
