"""Training assets on stores written by the real ingestion path."""

import pytest
from helpers.runs import current_storage, ingest, materialize, metadata, run_job, train_config

from mlops_demo.core.plant.simulator import simulate

pytestmark = pytest.mark.broker


@pytest.fixture
def instance(backend_instance):
    return backend_instance


def test_join_split_and_train_record_their_numbers(env, instance, broker_url, queues):
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:500])
    result = run_job(instance, "train_ml_model", run_config=train_config(forward_chained_folds=7))
    assert metadata(result, "joined_cleaned_readings_and_statuses")["num_matches"] == 500
    train = {k: v for k, v in metadata(result, "training_data").items() if k != "path"}
    test = metadata(result, "test_data")
    failures = sum(x["Target"] for x in records[:350])
    assert train == {"num_rows": 350, "num_failures": failures, "num_non_failures": 350 - failures}
    assert test["num_rows"] == 150
    model = metadata(result, "trained_model")
    for score in ("accuracy", "precision", "recall", "f1", "roc_auc", "training_seconds"):
        assert isinstance(model[score], float), score
    assert (model["train_rows"], model["test_rows"]) == (350, 150)
    assert "decision_threshold" in model["hyperparameters"]
    assert "| healthy |" in model["confusion_matrix"]
    # The forward-chained evaluation: seven folds over the newest 70 % of the 500 joined rows.
    folds = [line for line in model["forward_chained"].splitlines() if line.startswith("| UDI ")]
    assert len(folds) == 7 and folds[0].startswith("| UDI 151-")
    assert 0 <= model["forward_chained_f1"] <= 1 and 0 <= model["rules_f1"] <= 1
    low, high = map(float, model["forward_chained_f1_interval"].split("-"))
    assert low <= model["forward_chained_f1"] <= high
    assert 0 <= model["expected_calibration_error"] <= 1
    assert "| probability said |" in model["calibration"]
    assert model["calibrated_on"]
    assert "| failure type |" in model["failures_by_type"]
    [entry] = current_storage().registry().entries()
    assert entry.evaluation["pooled"]["f1"] == model["forward_chained_f1"]
    # The evaluation's picture, in the metadata and as a file beside the card that shows it.
    assert "(data:image/png;base64," in model["evaluation_picture"]
    storage = current_storage().registry().storage
    stem = entry.file_name.removesuffix(".pickle")
    assert storage.read_file(f"{stem}.evaluation.png").startswith(b"\x89PNG")
    assert f"]({stem}.evaluation.png)" in storage.read_file(f"{stem}.md").decode()


def test_the_forward_chained_evaluation_can_be_left_out(env, instance, broker_url, queues):
    records = simulate(500)
    ingest(instance, broker_url, queues, readings=records, statuses=records)
    result = run_job(
        instance,
        "train_ml_model",
        run_config={"ops": {"trained_model": {"config": {"forward_chained_folds": 0}}}},
    )
    model = metadata(result, "trained_model")
    assert "forward_chained_f1" not in model
    assert model["forward_chained"].startswith("No forward-chained evaluation")
    assert "evaluation_picture" not in model


def test_the_split_fraction_is_configurable(env, instance, broker_url, queues):
    records = simulate(400)
    ingest(instance, broker_url, queues, readings=records, statuses=records)
    result = run_job(
        instance,
        "train_ml_model",
        run_config={"ops": {"training_and_test_data": {"config": {"train_fraction": 0.5}}}},
    )
    assert metadata(result, "training_data")["num_rows"] == 200


def test_too_little_data_fails_the_run_with_one_sentence(env, instance, broker_url, queues):
    records = simulate(40)
    ingest(instance, broker_url, queues, readings=records, statuses=records)
    result = run_job(instance, "train_ml_model", raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("Only 40 readings have a status yet")
    assert "at least 50" in message


def test_joined_asset_materializes_alone_after_ingestion(env, instance, broker_url, queues):
    records = simulate(600)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:250])
    result = materialize(instance, "joined_cleaned_readings_and_statuses")
    assert metadata(result, "joined_cleaned_readings_and_statuses")["num_matches"] == 250


def test_a_model_learns_from_the_newest_labelled_readings_of_its_window(
    env, instance, broker_url, queues, monkeypatch
):
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:800])
    monkeypatch.setenv("MLOPS_TRAINING_WINDOW", "300")
    result = run_job(instance, "train_ml_model", run_config=train_config(forward_chained_folds=0))
    joined = metadata(result, "joined_cleaned_readings_and_statuses")
    assert (joined["num_matches"], joined["num_statuses"], joined["training_window"]) == (
        300, 300, 300
    )  # fmt: skip
    # The window's oldest 70 % train, its newest 30 % test: UDI 501-710 and 711-800.
    [entry] = current_storage().registry().entries()
    assert entry.trained_through_udi == 710
    assert metadata(result, "test_data")["num_rows"] == 90
