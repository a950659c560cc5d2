"""Continuous training, when MLOPS_AUTO_DEPLOY is `promoted`: deploy_model for each new gate
decision that promotes the new model on evidence. A first model, with no champion to beat, is
no promotion, and waits for a person."""

import dagster as dg

from mlops_demo.core.registry.entries import PROMOTE
from mlops_demo.defs.automation import daemon_interval, finding_tag
from mlops_demo.defs.deployment.settings import DeploymentSettings

CANDIDATES = dg.AssetKey("production_model_candidates")
# The deployment records that no person chose it; deployed_model reads this tag.
AUTOMATIC_TAG = "mlops_demo/deployed_automatically"


def _deploy_promoted_model(
    context: dg.SensorEvaluationContext, deployment_settings: DeploymentSettings
):
    if deployment_settings.auto_deploy == "off":
        return dg.SkipReason("MLOPS_AUTO_DEPLOY is off: a person deploys from the Launchpad")
    [newest] = context.instance.fetch_materializations(CANDIDATES, limit=1).records or [None]
    if newest is None or newest.storage_id <= int(context.cursor or 0):
        return dg.SkipReason("no new decision of the gate")
    context.update_cursor(str(newest.storage_id))
    metadata = newest.asset_materialization.metadata
    model, gate = metadata["new_model"].value, metadata["gate"].value
    if not gate.startswith(PROMOTE):
        return dg.SkipReason(f"{model} was not promoted: {gate}")
    context.log.info(f"{model} was promoted: requesting deploy_model")
    return dg.RunRequest(
        run_config={"ops": {"deployed_model": {"config": {"model_name": model}}}},
        tags={AUTOMATIC_TAG: "promoted", **finding_tag(gate)},
    )


def deploy_promoted_model_sensor(interval_seconds: int) -> dg.SensorDefinition:
    return dg.sensor(
        name="deploy_promoted_model_sensor",
        job_name="deploy_model",
        minimum_interval_seconds=daemon_interval(interval_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="With MLOPS_AUTO_DEPLOY=promoted, launches deploy_model for each model the "
        "gate promotes on evidence; the deployment is recorded as automatic, devices_at_risk "
        "scores with it in the same run, and it rolls back like any other. Off by default: it "
        "then only says so.",
    )(_deploy_promoted_model)
