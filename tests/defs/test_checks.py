"""Asset checks on real runs: each passes on a healthy loop and fails when what it guards breaks."""

import dagster as dg
import pytest
from helpers.runs import deploy_config, ingest, materialize, run_job

from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.simulator import simulate
from mlops_demo.definitions import defs

pytestmark = pytest.mark.broker

HASH_CHECK = dg.AssetCheckKey(dg.AssetKey("deployed_model"), "deployed_model_matches_registry_hash")
# A job that runs the deployed model's checks alone, as "Execute checks" in the UI does.
with_check_job = dg.Definitions.merge(
    defs,
    dg.Definitions(
        jobs=[
            dg.define_asset_job(
                "check_deployed_model",
                selection=dg.AssetSelection.checks_for_assets(dg.AssetKey("deployed_model")),
            )
        ]
    ),
)


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        e for e in result.get_asset_check_evaluations() if e.asset_check_key == HASH_CHECK
    ]
    return evaluation


def test_the_deployed_model_hash_check_passes_then_fails_on_a_tampered_file(
    env, instance, broker_url, queues
):
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:600])
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    [entry] = ModelRegistry(env).entries()

    deployed = _evaluation(materialize(instance, "deployed_model", deploy_config(entry.name)))
    assert deployed.passed
    assert deployed.metadata["observed_sha256"].value == entry.sha256

    path = env / entry.name
    path.write_bytes(path.read_bytes() + b"tampered")
    job = with_check_job.resolve_job_def("check_deployed_model")
    checked = _evaluation(job.execute_in_process(instance=instance, raise_on_error=False))
    assert not checked.passed
    assert "does not match its registered SHA-256" in checked.metadata["problem"].value
