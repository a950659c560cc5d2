"""The calibrated forest: Platt's sigmoid, and each tree's share of the training rows."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlops_demo.core.model import features, pipeline, platt
from mlops_demo.core.model.calibration import CalibratedForest, _platt
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.plant.simulator import simulate


def test_platt_on_scores_grouped_by_value_is_platt_on_every_row():
    rng = np.random.default_rng(3)
    failed = rng.random(5000) < 0.04
    scores = np.round(np.clip(rng.beta(0.4, 6, 5000) + 0.6 * failed * rng.random(5000), 0, 1), 2)
    y = failed.astype(int)
    target = np.where(y == 1, (y.sum() + 1) / (y.sum() + 2), 1 / (len(y) - y.sum() + 2))
    every_row = LogisticRegression(C=1e6).fit(
        np.tile(platt.log_odds(scores), 2).reshape(-1, 1),
        np.concatenate([np.ones(len(y)), np.zeros(len(y))]),
        sample_weight=np.concatenate([target, 1 - target]),
    )
    grouped = _platt(scores, y)
    assert len(np.unique(scores)) < 200  # the grouping had work to do
    assert np.allclose(grouped.coef_, every_row.coef_, rtol=1e-4)
    assert np.allclose(grouped.intercept_, every_row.intercept_, rtol=1e-4)


def test_readings_a_few_trees_call_failing_keep_their_share_of_the_failures():
    # Per forest score: readings, failures. A sigmoid of the raw score is too flat near 0 and
    # gives the 0.03 group about 1 of its 20 failures; on the log-odds it gives them 7.
    groups = {0.0: (20_000, 20), 0.03: (400, 20), 0.5: (100, 50), 0.97: (200, 194)}
    scores = np.concatenate([np.full(n, score) for score, (n, _) in groups.items()])
    y = np.concatenate([np.arange(n) < failed for n, failed in groups.values()]).astype(int)
    sigmoid = _platt(scores, y)
    said = platt.probability(np.array(list(groups)), sigmoid.coef_[0, 0], sigmoid.intercept_[0])
    expected = said * [n for n, _ in groups.values()]
    assert expected[1] > 5
    on_raw_scores = LogisticRegression(C=1e6).fit(scores.reshape(-1, 1), y)
    assert 400 * on_raw_scores.predict_proba([[0.03]])[0, 1] < 2
    assert abs(expected.sum() - y.sum()) < 0.05 * y.sum()


def test_a_model_pickled_before_the_log_odds_sigmoid_is_refused_on_load():
    machines = pd.DataFrame(simulate(2000))
    model = CalibratedForest(RandomForestClassifier(n_estimators=5, random_state=0))
    model.fit(features.model_inputs(machines), machines[features.LABEL_COLUMN].to_numpy())
    assert pickle.loads(pickle.dumps(model)).threshold_ == model.threshold_
    del model.sigmoid_input_
    with pytest.raises(ValueError, match="sigmoid reads raw scores"):
        pickle.loads(pickle.dumps(model))


def test_each_tree_fits_at_most_its_share_of_the_rows():
    machines = pd.DataFrame(simulate(3000))
    inputs = features.model_inputs(machines)
    forest = CalibratedForest(
        RandomForestClassifier(n_estimators=5, random_state=0), max_rows_per_tree=500
    ).fit(inputs, machines[features.LABEL_COLUMN].to_numpy())
    assert forest.forest_.max_samples == 500
    uncapped = CalibratedForest(
        RandomForestClassifier(n_estimators=5, random_state=0), max_rows_per_tree=None
    ).fit(inputs, machines[features.LABEL_COLUMN].to_numpy())
    assert uncapped.forest_.max_samples is None
    assert (
        Hyperparameters().max_rows_per_tree
        == pipeline.build_pipeline(Hyperparameters()).named_steps["classifier"].max_rows_per_tree
    )


def test_each_rows_out_of_bag_score_is_its_own():
    # The forest fits the rows in label order; the scores must come back in the rows' order.
    machines = pd.DataFrame(simulate(4000))
    failed = machines[features.LABEL_COLUMN].to_numpy()
    forest = CalibratedForest(RandomForestClassifier(n_estimators=30, random_state=0))
    scores = forest._fit_forest(features.model_inputs(machines), failed)
    assert failed.sum() > 50
    assert scores[failed == 1].mean() > 0.5 > 0.05 > scores[failed == 0].mean()


def test_the_fitted_model_keeps_nothing_per_training_row():
    # A saved model's size follows its trees, not the rows they were fitted on.
    sizes = {}
    for rows in (2000, 8000):
        machines = pd.DataFrame(simulate(rows))
        model = CalibratedForest(RandomForestClassifier(n_estimators=5, random_state=0))
        model.fit(features.model_inputs(machines), machines[features.LABEL_COLUMN].to_numpy())
        assert not hasattr(model.forest_, "oob_decision_function_")
        sizes[rows] = len(pickle.dumps(model))
    per_row = (sizes[8000] - sizes[2000]) / 6000
    assert per_row < 4, f"{per_row:.1f} bytes per training row"
