"""Candidates appear by themselves after training; the Launchpad deploys only registered models."""

import json
import pickle

import dagster as dg
import pytest
from helpers.faults import Planted
from helpers.runs import deploy_config, ingest, materialize, metadata, run_job

from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.simulator import simulate
from mlops_demo.definitions import defs

pytestmark = pytest.mark.broker


@pytest.fixture
def instance(backend_instance):
    return backend_instance


CANDIDATES = dg.AssetKey("production_model_candidates")


@pytest.fixture
def trained(env, instance, broker_url, queues):
    """1,000 readings and 500 statuses ingested, a baseline automation tick, one training run."""
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:500])
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    run_job(instance, "train_ml_model")
    return baseline


def test_a_trained_model_leads_to_candidates_by_automation(trained, instance, env):
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=trained.cursor)
    assert after.get_num_requested(CANDIDATES) == 1
    assert after.get_num_requested(dg.AssetKey("devices_at_risk")) == 0  # nothing deployed yet
    result = materialize(instance, "production_model_candidates")
    meta = metadata(result, "production_model_candidates")
    [entry] = ModelRegistry(env).entries()
    assert meta["new_model"] == meta["recommended_model"] == entry.name
    assert meta["num_candidates"] == 1
    [row] = [record.data for record in meta["candidates"].records]
    assert (row["model_name"], row["status"], row["gate"]) == (
        entry.name,
        "candidate",
        "no model is deployed yet",
    )
    assert row["newest_test_f1"] == row["window_f1"] == entry.metrics["f1"]
    # No champion, no champion score: null, which the UI's JSON parser takes (NaN it refuses).
    assert row["champion_window_f1"] is None
    json.dumps(row, allow_nan=False)
    assert f"model_name: {entry.name}" in meta["launchpad_config"]
    assert (env / entry.name).is_file() and (env / entry.name.replace(".pickle", ".md")).is_file()


def test_the_launchpad_config_deploys_a_candidate_by_full_or_bare_name(trained, instance, env):
    materialize(instance, "production_model_candidates")
    [entry] = ModelRegistry(env).entries()
    for name in (entry.name, entry.file_name):
        result = materialize(instance, "deployed_model", deploy_config(name))
        meta = metadata(result, "deployed_model")
        assert (meta["model_name"], meta["sha256"]) == (entry.name, entry.sha256)
        assert isinstance(meta["f1"], float)
    assert ModelRegistry(env).deployed_name() == entry.name


@pytest.mark.parametrize(
    ("requested", "problem"),
    [
        ("trained-models/model-20990101T000000.000000Z.pickle", "is not a registered model"),
        ("../../../etc/passwd", "points outside trained-models/"),
        ("/etc/passwd", "points outside trained-models/"),
    ],
)
def test_bad_launchpad_names_fail_naming_the_problem_and_the_candidates(
    trained, instance, env, requested, problem
):
    materialize(instance, "production_model_candidates")
    [entry] = ModelRegistry(env).entries()
    message = _failure(materialize(instance, "deployed_model", deploy_config(requested), False))
    assert problem in message and f"Valid candidates: {entry.name}" in message


def test_tampered_and_truncated_models_are_refused_without_unpickling(trained, instance, env):
    materialize(instance, "production_model_candidates")
    [entry] = ModelRegistry(env).entries()
    path = env / entry.name
    marker = env / "planted-code-ran"
    path.write_bytes(pickle.dumps(Planted(str(marker))))
    message = _failure(materialize(instance, "deployed_model", deploy_config(entry.name), False))
    assert "does not match its registered SHA-256" in message
    assert not marker.exists()
    path.write_bytes(b"")
    message = _failure(materialize(instance, "deployed_model", deploy_config(entry.name), False))
    assert "altered or truncated" in message


def test_a_missing_model_name_is_rejected_before_the_run_starts(trained, instance):
    with pytest.raises(dg.DagsterInvalidConfigError, match="model_name"):
        materialize(instance, "deployed_model", {"ops": {"deployed_model": {"config": {}}}})


def _failure(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.user_failure_data.description
