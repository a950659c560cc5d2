"""Candidates appear by themselves after training; the Launchpad deploys only registered models."""

import json
import os
import pickle
import subprocess
import sys

import dagster as dg
import pytest
from helpers.faults import Planted
from helpers.models import model_bytes, replace_model_bytes
from helpers.runs import current_storage, deploy_config, ingest, materialize, metadata, run_job

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.plant.simulator import simulate
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
    [entry] = current_storage().registry().entries()
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
    registry = current_storage().registry()
    assert model_bytes(registry, entry) and registry.storage.read_file(
        entry.file_name.replace(".pickle", ".md")
    ).startswith(b"# ")


def test_the_launchpad_config_deploys_a_candidate_by_full_or_bare_name(trained, instance, env):
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()
    for name in (entry.name, entry.file_name):
        result = materialize(instance, "deployed_model", deploy_config(name))
        meta = metadata(result, "deployed_model")
        assert (meta["model_name"], meta["sha256"]) == (entry.name, entry.sha256)
        assert isinstance(meta["f1"], float)
    assert current_storage().registry().deployed_name() == entry.name


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
    [entry] = current_storage().registry().entries()
    message = _failure(materialize(instance, "deployed_model", deploy_config(requested), False))
    assert problem in message and f"Valid candidates: {entry.name}" in message


def test_tampered_and_truncated_models_are_refused_without_unpickling(trained, instance, env):
    materialize(instance, "production_model_candidates")
    registry = current_storage().registry()
    [entry] = registry.entries()
    marker = env / "planted-code-ran"
    replace_model_bytes(registry, entry, pickle.dumps(Planted(str(marker))))
    message = _failure(materialize(instance, "deployed_model", deploy_config(entry.name), False))
    assert "does not match its registered SHA-256" in message
    assert not marker.exists()
    replace_model_bytes(registry, entry, b"")
    message = _failure(materialize(instance, "deployed_model", deploy_config(entry.name), False))
    assert "altered or truncated" in message


def test_a_missing_model_name_is_rejected_before_the_run_starts(trained, instance):
    with pytest.raises(dg.DagsterInvalidConfigError, match="model_name"):
        materialize(instance, "deployed_model", {"ops": {"deployed_model": {"config": {}}}})


def _failure(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.user_failure_data.description


SECOND_MACHINE = """
import json, sys
import dagster as dg
from helpers.runs import deploy_config, materialize, metadata
with dg.instance_for_test() as instance:
    materialize(instance, "deployed_model", deploy_config(sys.argv[1]))
    scored = metadata(materialize(instance, "devices_at_risk"), "devices_at_risk")
print(json.dumps({k: scored[k] for k in ("model_name", "num_unknown", "num_scored")}))
"""


@pytest.mark.parametrize("backend", ["postgres+postgres"], indirect=True)
def test_a_second_machine_with_only_the_database_url_deploys_and_scores(
    backend, trained, instance, env, tmp_path
):
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()
    elsewhere = tmp_path / "second-machine"
    elsewhere.mkdir()
    # Its own empty data directory; the same database URL and schema (and broker settings).
    machine = {
        **os.environ,
        "MLOPS_DATA_DIR": str(elsewhere),
        "PYTHONPATH": str(REPO_ROOT / "tests"),
    }
    second = subprocess.run(
        [sys.executable, "-c", SECOND_MACHINE, entry.name],
        env=machine, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    scored = json.loads(second.stdout.strip().splitlines()[-1])
    assert scored["model_name"] == entry.name and scored["num_unknown"] == 500
    assert scored["num_scored"] > 0
    assert list(elsewhere.iterdir()) == [] and not (env / "trained-models").exists()
    assert (
        current_storage().registry().deployed_name() == entry.name
    )  # one registry, seen from both
