"""The model lifecycle on real stores written by the real ingestion path, on both backends: the
gate against the champion, forced deployment, rollback, and the blocking F1 check."""

import dagster as dg
import pytest
from helpers.runs import (
    current_storage,
    deploy_config,
    failure_message,
    ingest,
    materialize,
    metadata,
    run_job,
    train_config,
)

from mlops_demo.core.plant.simulator import simulate
from mlops_demo.definitions import defs

pytestmark = pytest.mark.broker
RECORDS = simulate(6000)


@pytest.fixture
def instance(backend_instance):
    return backend_instance


def _train_and_gate(instance, **hyperparameters) -> dict:
    """Train, then let production_model_candidates apply the gate; its metadata."""
    run_job(instance, "train_ml_model", run_config=train_config(**hyperparameters))
    return metadata(
        materialize(instance, "production_model_candidates"), "production_model_candidates"
    )


def _rows(candidates: dict) -> dict[str, dict]:
    return {record.data["model_name"]: record.data for record in candidates["candidates"].records}


@pytest.fixture
def champion(env, instance, broker_url, queues, monkeypatch) -> str:
    """3,000 readings with statuses; a default model trained and deployed. The F1 floor is off,
    so the gate alone decides what the weak models here become."""
    monkeypatch.setenv("MLOPS_MIN_F1", "0")
    ingest(instance, broker_url, queues, readings=RECORDS[:3000], statuses=RECORDS[:3000])
    first = _train_and_gate(instance)
    assert first["new_model_status"] == "candidate"
    materialize(instance, "deployed_model", deploy_config(first["new_model"]))
    return first["new_model"]


def test_a_worse_model_is_rejected_and_a_better_one_accepted(
    champion, instance, env, broker_url, queues
):
    worse = _train_and_gate(instance, n_estimators=1, min_samples_leaf=200)
    row = _rows(worse)[worse["new_model"]]
    assert (worse["new_model_status"], row["status"]) == ("rejected", "rejected")
    assert row["window"] == "UDI 2101-3000"  # the newest 900 labelled rows, trained on by neither
    assert row["window_f1"] < row["champion_window_f1"]
    assert "does not beat the champion" in worse["gate"]
    assert "(data:image/png;base64," in worse["gate_picture"]

    # The weak model made champion (forced): a default model trained on more data beats it.
    materialize(instance, "deployed_model", deploy_config(worse["new_model"], force=True))
    ingest(instance, broker_url, queues, readings=RECORDS[3000:], statuses=RECORDS[3000:])
    better = _train_and_gate(instance)
    row = _rows(better)[better["new_model"]]
    assert better["new_model_status"] == "candidate", better["gate"]
    assert row["window"] == "UDI 4201-6000"
    assert row["window_f1"] > row["champion_window_f1"]
    assert better["recommended_model"] == better["new_model"]
    statuses = {name: r["status"] for name, r in _rows(better).items()}
    assert statuses == {
        champion: "retired",
        worse["new_model"]: "deployed",
        better["new_model"]: "candidate",
    }


def test_models_past_the_kept_number_lose_their_files_and_stay_listed(
    champion, instance, env, monkeypatch
):
    monkeypatch.setenv("MLOPS_KEEP_MODELS", "1")
    worse = _train_and_gate(instance, n_estimators=1, min_samples_leaf=200)
    assert worse["model_files_removed"] == 0  # the newest and the champion
    newer = _train_and_gate(instance, n_estimators=1, min_samples_leaf=200)
    assert newer["model_files_removed"] == 1
    rows = _rows(newer)
    assert rows[worse["new_model"]]["status"] == "rejected"
    assert rows[worse["new_model"]]["problem"] == "files removed (retention)"
    assert rows[worse["new_model"]]["newest_test_f1"] is None
    assert rows[champion]["newest_test_f1"] is not None and rows[champion]["status"] == "deployed"
    message = failure_message(
        materialize(instance, "deployed_model", deploy_config(worse["new_model"], True), False)
    )
    assert "removed by the registry's retention" in message


def test_a_rejected_model_deploys_only_when_forced(champion, instance, env):
    worse = _train_and_gate(instance, n_estimators=1, min_samples_leaf=200)
    refused = materialize(instance, "deployed_model", deploy_config(worse["new_model"]), False)
    message = failure_message(refused)
    assert "is not a candidate: it was rejected" in message and "force: true" in message
    forced = metadata(
        materialize(instance, "deployed_model", deploy_config(worse["new_model"], force=True)),
        "deployed_model",
    )
    assert (forced["model_name"], forced["forced"], forced["previous_model"]) == (
        worse["new_model"],
        True,
        champion,
    )


def test_previous_rolls_back_twice_in_a_row(champion, instance, env):
    second = _train_and_gate(instance, random_state=1)["new_model"]
    third = _train_and_gate(instance, random_state=2)["new_model"]
    for name in (second, third):
        materialize(instance, "deployed_model", deploy_config(name, force=True))
    back = metadata(
        materialize(instance, "deployed_model", deploy_config("previous")), "deployed_model"
    )
    assert (back["model_name"], back["previous_model"], back["rollback"]) == (second, third, True)
    again = metadata(
        materialize(instance, "deployed_model", deploy_config("previous")), "deployed_model"
    )
    assert (again["model_name"], again["previous_model"]) == (champion, second)
    history = current_storage().registry().history()
    assert [(d.model, d.rollback) for d in history] == [
        (champion, False),
        (second, False),
        (third, False),
        (second, True),
        (champion, True),
    ]
    last = failure_message(
        materialize(instance, "deployed_model", deploy_config("previous"), False)
    )
    assert "no earlier deployment to roll back to" in last


def test_a_model_below_the_f1_floor_never_becomes_a_candidate_by_itself(
    env, instance, broker_url, queues, monkeypatch
):
    ingest(instance, broker_url, queues, readings=RECORDS[:1000], statuses=RECORDS[:1000])
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    monkeypatch.setenv("MLOPS_MIN_F1", "1.0")
    result = run_job(
        instance,
        "train_ml_model",
        run_config=train_config(n_estimators=1, min_samples_leaf=200),
        raise_on_error=False,
    )
    [check] = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "trained_model_f1_meets_floor"
    ]
    assert not check.passed and check.metadata["expected_at_least"].value == 1.0
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor)
    assert tick.get_num_requested(dg.AssetKey("production_model_candidates")) == 0
    [entry] = current_storage().registry().entries()
    assert current_storage().registry().statuses() == {entry.name: "trained"}
    message = failure_message(
        materialize(instance, "deployed_model", deploy_config(entry.name), False)
    )
    assert "has not passed the gate yet" in message

    monkeypatch.setenv("MLOPS_MIN_F1", "0.0")
    result = run_job(instance, "train_ml_model")
    [check] = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "trained_model_f1_meets_floor"
    ]
    assert check.passed
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert tick.get_num_requested(dg.AssetKey("production_model_candidates")) == 1
