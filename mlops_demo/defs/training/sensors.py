"""The sensor that closes the loop: train_ml_model once for each new failed evaluation of the
drift check or the realized-F1 check."""

import json

import dagster as dg

from mlops_demo.defs.automation import IN_FLIGHT, daemon_interval

# Closing the loop: off by default, like the schedule, because retraining costs and a retrained
# model still waits for a person to deploy it.
RETRAIN_TRIGGERS = (
    dg.AssetCheckKey(dg.AssetKey("cleaned_readings"), "cleaned_readings_resemble_training_data"),
    dg.AssetCheckKey(
        dg.AssetKey("deployed_model_performance"), "deployed_model_performance_realized_f1_holds"
    ),
)


def _retrain_on_drift_or_decay(context: dg.SensorEvaluationContext):
    seen = json.loads(context.cursor or "{}")
    failed = []
    for key in RETRAIN_TRIGGERS:
        record = context.instance.get_latest_asset_check_evaluation_record(key)
        if record is None or record.id <= seen.get(key.name, 0):
            continue
        seen[key.name] = record.id
        if record.status.value == "FAILED":
            failed.append(key.name)
    context.update_cursor(json.dumps(seen))
    if not failed:
        return dg.SkipReason("no new failed evaluation of the drift or realized-F1 check")
    in_flight = context.instance.get_run_records(
        dg.RunsFilter(job_name="train_ml_model", statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SkipReason(f"{', '.join(failed)} failed, but train_ml_model runs already")
    context.log.info(f"{', '.join(failed)} failed: requesting train_ml_model")
    return dg.RunRequest(tags={"mlops_demo/retrain_because": ",".join(failed)})


def retrain_on_drift_or_decay_sensor(interval_seconds: int) -> dg.SensorDefinition:
    return dg.sensor(
        name="retrain_on_drift_or_decay_sensor",
        job_name="train_ml_model",
        minimum_interval_seconds=daemon_interval(interval_seconds),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Launches train_ml_model once for each new failed evaluation of the drift "
        "check or the realized-F1 check. Stopped by default: start it in Automation to close "
        "the loop.",
    )(_retrain_on_drift_or_decay)
