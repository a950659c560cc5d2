"""deployed_model's check: the deployed file still matches its registered SHA-256."""

import dagster as dg

from mlops_demo.core.registry.entries import ModelEntry, RegistryError
from mlops_demo.defs.resources import StorageResource


@dg.asset_check(asset="deployed_model", blocking=True)
def deployed_model_matches_registry_hash(
    deployed_model: ModelEntry, storage: StorageResource
) -> dg.AssetCheckResult:
    """The deployed model's file still hashes to the SHA-256 the registry recorded for it."""
    try:
        entry = storage.registry().verify(deployed_model.name)
    except RegistryError as exc:
        return dg.AssetCheckResult(
            passed=False, metadata={"model_name": deployed_model.name, "problem": str(exc)}
        )
    return dg.AssetCheckResult(
        passed=entry.sha256 == deployed_model.sha256,
        metadata={
            "model_name": entry.name,
            "expected_sha256": deployed_model.sha256,
            "observed_sha256": entry.sha256,
        },
    )
