"""Continuous training's switch: whether a model the gate promotes on evidence is deployed
without a person. Read by deploy_promoted_model_sensor on every tick."""

from typing import Literal

import dagster as dg
from pydantic import Field


class DeploymentSettings(dg.ConfigurableResource):
    """Who deploys a promoted model."""

    auto_deploy: Literal["off", "promoted"] = Field(
        default="off",
        description="off: a person deploys from the Launchpad; promoted: a model the gate "
        "promotes on evidence is deployed at once (deploy_promoted_model_sensor), recorded as "
        "automatic, scored in the same run, and rolled back like any other",
    )
