"""Nothing that passes between assets is pickled: frames and registry entries are JSON, a planted
pickle anywhere in the Dagster home's storage or the registry is refused unread, and each
refusal says what was wrong."""

import pickle
from pathlib import Path

import dagster as dg
import pytest
from helpers.faults import Planted
from helpers.models import replace_model_bytes
from helpers.runs import (
    current_storage,
    deploy_config,
    failure_message,
    ingest,
    materialize,
    run_job,
)

from mlops_demo.core.plant.simulator import simulate
from mlops_demo.definitions import build_definitions
from mlops_demo.defs.io_manager import SafeIOManager


@pytest.fixture
def instance(backend_instance):
    return backend_instance


# Each asset (or multi-asset's outputs) that reads stored outputs, and the outputs it reads.
READERS = {
    ("training_data", "test_data"): ("joined_cleaned_readings_and_statuses",),
    ("trained_model",): ("training_data", "test_data"),
    ("production_model_candidates",): ("trained_model", "test_data"),
    ("devices_at_risk",): ("deployed_model",),
}


@pytest.mark.broker
def test_outputs_are_json_and_planted_pickles_are_refused_unread(env, instance, broker_url, queues):
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:600])
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()
    materialize(instance, "deployed_model", deploy_config(entry.name))
    storage = Path(instance.storage_directory())
    outputs = sorted(p.name for p in storage.iterdir() if p.is_file())
    assert outputs == [
        "deployed_model.entry.json",
        "joined_cleaned_readings_and_statuses.frame.json",
        "test_data.frame.json",
        "trained_model.entry.json",
        "training_data.frame.json",
    ]

    marker = env / "planted-code-ran"
    planted = pickle.dumps(Planted(str(marker)))
    for output in storage.iterdir():
        if output.is_file():
            output.write_bytes(planted)
            # Where Dagster's default IO manager would look, too.
            output.with_name(output.name.split(".")[0]).write_bytes(planted)
    replace_model_bytes(current_storage().registry(), entry, planted)

    for assets, upstreams in READERS.items():
        result = (
            build_definitions()
            .resolve_implicit_global_asset_job_def()
            .execute_in_process(
                instance=instance,
                asset_selection=[dg.AssetKey(asset) for asset in assets],
                raise_on_error=False,
            )
        )
        [failure] = [event for event in result.all_events if event.is_step_failure]
        message = failure.step_failure_data.error.to_string()
        refusals = [
            f"the stored output of {name} is not one this project wrote" for name in upstreams
        ]
        assert any(refusal in message for refusal in refusals), (assets, message[-500:])
    deploy = failure_message(
        materialize(instance, "deployed_model", deploy_config(entry.name), False)
    )
    assert "does not match its registered SHA-256" in deploy
    assert not marker.exists()


def test_anything_but_a_frame_or_a_registry_entry_is_refused_when_written(tmp_path):
    @dg.asset
    def opaque() -> dict:
        return {"weights": [1, 2, 3]}

    result = dg.materialize(
        [opaque],
        resources={"io_manager": SafeIOManager(base_dir=str(tmp_path))},
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "returned a dict; this project hands on only DataFrames and registry records" in (
        failure.step_failure_data.error.to_string()
    )
    assert list(tmp_path.iterdir()) == []
