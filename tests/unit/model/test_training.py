"""Features, training, evaluation and scoring, without Dagster."""

import math

import joblib
import pandas as pd
import pytest

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    ALL_COLUMNS,
    PROCESS_TEMPERATURE,
    PRODUCT_TYPES,
    READING_FIELDS,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
    TYPE,
    UDI,
    reading_of,
    status_of,
)
from mlops_demo.core.model import features, scoring, training
from mlops_demo.core.plant.simulator import simulate


@pytest.fixture(scope="module")
def machines() -> pd.DataFrame:
    return pd.DataFrame(simulate(3000))


def test_physics_features_are_the_documented_quantities():
    reading = pd.DataFrame([reading_of(simulate(1)[0])])
    inputs = features.physics_features(reading).iloc[0]
    raw = reading.iloc[0]
    assert inputs["temperature_difference_k"] == pytest.approx(
        raw[PROCESS_TEMPERATURE] - raw[AIR_TEMPERATURE]
    )
    assert inputs["mechanical_power_w"] == pytest.approx(
        raw[TORQUE] * raw[ROTATIONAL_SPEED] * 2 * math.pi / 60
    )
    assert inputs["tool_wear_torque_min_nm"] == pytest.approx(raw[TOOL_WEAR] * raw[TORQUE])
    assert inputs["product_type_code"] == PRODUCT_TYPES.index(raw[TYPE])


def test_split_is_time_ordered_by_udi(machines):
    shuffled = machines.sample(frac=1, random_state=1)
    train, test = training.split_by_udi(shuffled, 0.7)
    assert len(train) == 2100 and len(test) == 900
    assert train[UDI].max() < test[UDI].min()
    assert train[UDI].is_monotonic_increasing


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_split_refuses_a_fraction_outside_0_and_1(machines, fraction):
    with pytest.raises(ValueError, match="between 0 and 1"):
        training.split_by_udi(machines, fraction)


def test_join_keeps_only_readings_with_a_status():
    records = simulate(10)
    readings = pd.DataFrame([reading_of(x) for x in records])
    statuses = pd.DataFrame([status_of(x) for x in records[3:7]])
    joined = training.join_on_udi(readings, statuses)
    assert joined[UDI].tolist() == [4, 5, 6, 7]
    assert list(joined.columns) == list(ALL_COLUMNS)


def test_a_trained_pipeline_scores_raw_readings_after_a_pickle_round_trip(machines, tmp_path):
    train, test = training.split_by_udi(machines, 0.7)
    result = training.train(train, test)
    assert set(result.summary.metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert result.summary.metrics["roc_auc"] > 0.8
    assert sum(map(sum, result.summary.confusion_matrix)) == len(test)
    assert 0 < result.summary.hyperparameters["decision_threshold"] < 1
    joblib.dump(result.model, tmp_path / "model.pickle")
    loaded = joblib.load(tmp_path / "model.pickle")
    one_reading = pd.DataFrame([reading_of(simulate(1, offset=5000)[0])])
    assert loaded.predict_proba(one_reading).shape == (1, 2)


def test_the_model_finds_the_rule_based_failures(machines):
    train, test = training.split_by_udi(machines, 0.7)
    result = training.train(train, test)
    assert result.summary.metrics["precision"] >= 0.6
    assert result.summary.metrics["f1"] >= 0.5


@pytest.mark.parametrize(
    ("rows", "failure_udis", "message"),
    [
        (30, [1, 2, 3], "Only 30 readings have a status yet (3 failures in the training part); "
         "training needs at least 50: publish and ingest more statuses."),
        (200, [], "The training part's 140 rows hold no failures (0 failures); training needs "
         "both failed and healthy machines: ingest more readings and statuses."),
    ],
)  # fmt: skip
def test_too_little_data_is_one_clear_sentence(rows, failure_udis, message):
    frame = pd.DataFrame(simulate(rows))
    frame[TARGET] = frame[UDI].isin(failure_udis).astype(int)
    train, test = training.split_by_udi(frame, 0.7)
    with pytest.raises(training.InsufficientData) as caught:
        training.train(train, test)
    assert str(caught.value) == message


def test_scores_come_riskiest_first(machines):
    train, test = training.split_by_udi(machines, 0.7)
    model = training.train(train, test).model
    unknown = machines[machines[UDI] > 2500][list(READING_FIELDS)]
    scored = scoring.score(model, unknown)
    assert len(scored) == 500 and set(scored[UDI]) == set(range(2501, 3001))
    assert scored["failure_probability"].is_monotonic_decreasing
    assert scored["at_risk"].dtype == bool


def test_the_signature_records_the_models_own_inputs_and_refuses_only_outside_them(machines):
    signature = training.train(*training.split_by_udi(machines, 0.7)).summary.signature
    assert AIR_TEMPERATURE not in signature and PROCESS_TEMPERATURE not in signature
    assert {"temperature_difference_k", "mechanical_power_w", "overstrain_margin_min_nm"} <= set(
        signature
    )
    torque = signature["Torque [Nm]"]
    assert torque["kind"] == "number" and torque["min"] < torque["max"]
    assert signature["Type"] == {"kind": "category", "values": ["H", "L", "M"]}
    readings = machines[list(READING_FIELDS)].head(4).copy()
    # A heat wave moves both temperatures: their difference, which the model uses, stays.
    readings.loc[0, [AIR_TEMPERATURE, PROCESS_TEMPERATURE]] += 20.0
    span = torque["max"] - torque["min"]
    readings.loc[1, TORQUE] = torque["max"] + span + 0.1
    readings.loc[2, "Type"] = "X"
    readings.loc[3, PROCESS_TEMPERATURE] = readings.loc[3, AIR_TEMPERATURE] + 40.0
    reasons = features.outside_signature(readings, signature).tolist()
    assert reasons[0] == ""
    assert (
        reasons[1].startswith("Torque [Nm] ") and "is far outside the trained range" in reasons[1]
    )
    assert reasons[2] == "Type X is not one of the trained (H, L, M)"
    assert reasons[3].startswith("temperature_difference_k 40")
    with pytest.raises(features.SignatureMismatch, match="lack the model's columns: Torque"):
        features.outside_signature(readings.drop(columns=["Torque [Nm]"]), signature)
    readings["Tool wear [min]"] = "worn"
    with pytest.raises(
        features.SignatureMismatch, match=r"Tool wear \[min\] holds \w+ values, not numbers"
    ):
        features.outside_signature(readings, signature)


@pytest.mark.realdata
def test_reference_split_reaches_the_f1_target(reference_csv):
    data = pd.read_csv(reference_csv, encoding="utf-8-sig")
    train, test = training.split_by_udi(data, 0.7)
    result = training.train(train, test)
    assert result.summary.metrics["f1"] >= 0.84
    assert result.summary.metrics["precision"] >= 0.95
