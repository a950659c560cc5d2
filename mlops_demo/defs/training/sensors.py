"""The sensor that closes the loop: train_ml_model once for each new failed evaluation of the
realized-F1 check whose response is to retrain (`core/monitoring/policy.py`). A drift finding
alone never retrains: a sensor fault must not be learned, a shift the model absorbs needs
nothing, and any other change waits for the statuses that a retrain needs."""

import json

import dagster as dg

from mlops_demo.defs.automation import IN_FLIGHT, daemon_interval, finding_tag

REALIZED_F1_HOLDS = dg.AssetCheckKey(
    dg.AssetKey("deployed_model_performance"), "deployed_model_performance_realized_f1_holds"
)
# A retrain for a decay learns only from the labels since the decayed batch began: older ones
# hold the plant as it was, and would outvote the new.
LEARN_SINCE_TAG = "mlops_demo/learn_since_udi"


def _retrain_on_drift_or_decay(context: dg.SensorEvaluationContext):
    seen = json.loads(context.cursor or "{}")
    record = context.instance.get_latest_asset_check_evaluation_record(REALIZED_F1_HOLDS)
    if record is None or record.id <= seen.get(REALIZED_F1_HOLDS.name, 0):
        return dg.SkipReason("no new evaluation of the realized-F1 check")
    context.update_cursor(json.dumps({**seen, REALIZED_F1_HOLDS.name: record.id}))
    evaluation = record.evaluation
    if evaluation is None or evaluation.passed:
        return dg.SkipReason("the realized-F1 check's newest evaluation passed")
    retrain = evaluation.metadata.get("retrain")
    if retrain is None or not retrain.value:
        response = evaluation.metadata.get("response")
        return dg.SkipReason(
            "the realized-F1 check failed; the policy says: "
            + (response.value if response else "no retrain")
        )
    in_flight = context.instance.get_run_records(
        dg.RunsFilter(job_name="train_ml_model", statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SkipReason("the realized-F1 check failed, but train_ml_model runs already")
    context.log.info(f"{REALIZED_F1_HOLDS.name} failed: requesting train_ml_model")
    since = evaluation.metadata.get("last_batch_first_udi")
    return dg.RunRequest(
        tags={
            "mlops_demo/retrain_because": REALIZED_F1_HOLDS.name,
            **finding_tag(evaluation.description or ""),
            **({LEARN_SINCE_TAG: str(since.value)} if since and since.value else {}),
        }
    )


def retrain_on_drift_or_decay_sensor(interval_seconds: int) -> dg.SensorDefinition:
    return dg.sensor(
        name="retrain_on_drift_or_decay_sensor",
        job_name="train_ml_model",
        minimum_interval_seconds=daemon_interval(interval_seconds),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Launches train_ml_model once for each new failed evaluation of the "
        "realized-F1 check whose response is to retrain: a decay while no sensor fault is open. "
        "Drift alone never retrains (core/monitoring/policy.py says why). Stopped by default: "
        "start it in Automation to close the loop.",
    )(_retrain_on_drift_or_decay)
