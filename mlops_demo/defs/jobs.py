"""The training job and its (stopped) schedule, and the deployment job; each stream's ingestion
job comes with its assets from `ingestion.stream_ingestion`."""

import dagster as dg

from mlops_demo.defs.deployment import deployed_model
from mlops_demo.defs.inference import devices_at_risk
from mlops_demo.defs.training import (
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
# Scoring in the deployment's own run: the automation would wait for its next tick (up to 5 s)
# and start a second run. devices_at_risk's condition knows a deployment made here is scored.
deploy_model = dg.define_asset_job(
    "deploy_model",
    selection=[deployed_model, devices_at_risk],
    description="Deploy a registered model (Launchpad: ops: deployed_model: config: model_name) "
    "and score the readings whose status is unknown with it, in one run.",
)
