"""Jobs: one per ingestion chain, the training job, and its (stopped) schedule."""

import dagster as dg

from mlops_demo import ingestion, training

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
train_ml_model = dg.define_asset_job(
    "train_ml_model",
    selection=[
        training.joined_cleaned_readings_and_statuses,
        training.training_and_test_data,
        training.trained_model,
    ],
    description="Join readings with statuses, split them in time order, train and score a model.",
)
train_ml_model_schedule = dg.ScheduleDefinition(
    name="train_ml_model_schedule",
    job=train_ml_model,
    cron_schedule="*/10 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retrain every 10 minutes once you switch it on.",
)
