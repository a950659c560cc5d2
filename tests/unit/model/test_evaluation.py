"""Forward-chained evaluation, calibration and the crew's operating point, against hand counts
and on the reference data."""

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core.messages.records import TARGET
from mlops_demo.core.model import evaluation, features, pipeline
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.plant.simulator import simulate


def test_a_crew_visits_only_its_capacity_of_the_riskiest_flagged_each_day():
    predicted = np.array([True, True, True, False, True, False, True, True])
    probability = np.array([0.6, 0.9, 0.7, 0.95, 0.5, 0.1, 0.8, 0.4])
    capped = evaluation.capped(predicted, probability, capacity=2, batch=4)
    # Day one: 0.9 and 0.7 (0.95 was not flagged); day two: 0.8 and 0.5.
    assert capped.tolist() == [False, True, True, False, True, False, True, False]
    assert evaluation.capped(predicted, probability, None, 4) is predicted


def test_calibration_error_and_reliability_against_a_hand_count():
    # Ten readings said 0.05 and one failed; ten said 0.85 and nine failed.
    probability = np.array([0.05] * 10 + [0.85] * 10)
    truth = np.array([1] + [0] * 9 + [1] * 9 + [0], dtype=float)
    report = evaluation.calibration(truth, probability)
    assert report["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert report["brier"] == pytest.approx(
        (0.95**2 + 9 * 0.05**2 + 9 * 0.15**2 + 0.85**2) / 20, abs=1e-5
    )
    assert [(b["bin"], b["rows"], b["failure_rate"]) for b in report["reliability"]] == [
        ("0.0-0.1", 10, 0.1),
        ("0.8-0.9", 10, 0.9),
    ]


def test_the_f1_interval_holds_the_point_and_narrows_with_more_rows():
    rng = np.random.default_rng(1)
    truth = rng.random(2000) < 0.05
    predicted = truth ^ (rng.random(2000) < 0.02)
    point = evaluation.scores(truth, predicted, predicted.astype(float))["f1"]
    wide = evaluation.f1_interval(truth[:200], predicted[:200])
    narrow = evaluation.f1_interval(truth, predicted)
    assert narrow[0] <= point <= narrow[1]
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_failed_rows_without_a_recorded_type_are_counted_apart():
    types = pd.Series(["No Failure", "Power Failure", "No Failure", "Power Failure"])
    truth = np.array([True, True, False, True])
    predicted = np.array([False, True, True, False])
    assert evaluation.recall_by_failure_type(types, truth, predicted) == {
        "Power Failure": {"failures": 2, "caught": 1},
        evaluation.UNRECORDED_TYPE: {"failures": 1, "caught": 0},
    }


def test_folds_chain_forward_and_skip_those_without_both_classes():
    machines = pd.DataFrame(simulate(1000))
    report = evaluation.forward_chained(
        machines, lambda: pipeline.build_pipeline(Hyperparameters(n_estimators=20)), 4
    )
    folds = report["folds"]
    assert len(folds) + report["skipped_folds"] == 4
    assert [f["first_udi"] for f in folds] == sorted(f["first_udi"] for f in folds)
    for fold in folds:
        assert fold["training_rows"] == fold["first_udi"] - 1  # every row before the block
    assert report["pooled"]["rows"] == sum(f["scores"]["rows"] for f in folds)
    assert report["rules"]["rows"] == report["pooled"]["rows"]


def test_a_fold_on_the_rows_a_model_already_trained_on_tests_that_model():
    machines = pd.DataFrame(simulate(1000))
    builds = []

    def build():
        builds.append(1)
        return pipeline.build_pipeline(Hyperparameters(n_estimators=20))

    fresh = evaluation.forward_chained(machines, build, 7)
    fitted_fresh = len(builds)
    oldest = machines.sort_values(features.ID_COLUMN).head(700)  # the cut before fold five
    model = build().fit(oldest[list(features.FEATURE_COLUMNS)], oldest[TARGET].astype(int))
    builds.clear()
    reused = evaluation.forward_chained(machines, build, 7, trained=(700, model))
    assert len(builds) == fitted_fresh - 1
    assert reused == fresh


def test_on_the_reference_data_the_model_matches_the_rules_and_is_calibrated(reference_csv):
    data = pd.read_csv(reference_csv, encoding="utf-8-sig")
    report = evaluation.forward_chained(data, lambda: pipeline.build_pipeline(Hyperparameters()), 7)
    pooled = report["pooled"]
    assert [f["first_udi"] for f in report["folds"]] == list(range(3001, 10000, 1000))
    assert pooled["failures"] == int(data[TARGET].iloc[3000:].sum())
    assert pooled["f1"] >= 0.90 and pooled["f1_low"] < pooled["f1"] < pooled["f1_high"]
    assert pooled["f1"] >= report["rules"]["f1"] - 0.01
    assert report["calibration"]["ece"] <= 0.02
    heat = report["recall_by_failure_type"]["Heat Dissipation Failure"]
    assert heat["caught"] / heat["failures"] >= 0.9
    named = report["named_mode"]
    assert named["named_correctly"] / named["caught"] >= 0.9
