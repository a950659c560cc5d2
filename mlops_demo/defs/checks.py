"""Asset checks, named as what they assert, with the observed and expected values in metadata."""

import dagster as dg

from mlops_demo.core.registry import RegistryError
from mlops_demo.defs.deployment import DeploymentRecord, deployed_model
from mlops_demo.defs.resources import ModelRegistryResource


@dg.asset_check(asset=deployed_model, blocking=True)
def deployed_model_matches_registry_hash(
    deployed_model: DeploymentRecord, model_registry: ModelRegistryResource
) -> dg.AssetCheckResult:
    """The deployed model's file still hashes to the SHA-256 the registry recorded for it."""
    try:
        entry = model_registry.open().verify(deployed_model.name)
    except RegistryError as exc:
        return dg.AssetCheckResult(
            passed=False,
            metadata={"model_name": deployed_model.name, "problem": str(exc)},
        )
    return dg.AssetCheckResult(
        passed=entry.sha256 == deployed_model.sha256,
        metadata={
            "model_name": entry.name,
            "expected_sha256": deployed_model.sha256,
            "observed_sha256": entry.sha256,
        },
    )
