"""The training job and its (stopped) schedule."""

import dagster as dg

from mlops_demo.defs.training.assets import (
    joined_cleaned_readings_and_statuses,
    trained_model,
    training_and_test_data,
)

train_ml_model = dg.define_asset_job(
    "train_ml_model",
    selection=[joined_cleaned_readings_and_statuses, training_and_test_data, trained_model],
    description="Join readings with statuses, split them in time order, train and score a model.",
)
train_ml_model_schedule = dg.ScheduleDefinition(
    name="train_ml_model_schedule",
    job=train_ml_model,
    cron_schedule="*/10 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retrain every 10 minutes once you switch it on.",
)
