"""The deployment job: deploy a model and score with it in one run."""

import dagster as dg

from mlops_demo.defs.deployment.assets import deployed_model
from mlops_demo.defs.inference.assets import devices_at_risk

# Scoring in the deployment's own run: the automation would wait for its next tick (up to 5 s)
# and start a second run. devices_at_risk's condition knows a deployment made here is scored.
deploy_model = dg.define_asset_job(
    "deploy_model",
    selection=[deployed_model, devices_at_risk],
    description="Deploy a registered model (Launchpad: ops: deployed_model: config: model_name) "
    "and score the readings whose status is unknown with it, in one run.",
)
