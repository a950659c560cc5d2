"""Changes of the plant itself: the readings stay, the machines fail by a rule the documented
limits do not know; the rules and a model trained before are then wrong, and a model trained on
the labels since the change is right."""

import pandas as pd
import pytest

from mlops_demo.core.messages.records import FAILURE_TYPE, READING_FIELDS, TARGET
from mlops_demo.core.model import pipeline
from mlops_demo.core.model.features import FEATURE_COLUMNS
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.monitoring.performance import confusion
from mlops_demo.core.plant.physics import rule_verdicts
from mlops_demo.core.plant.scenarios import PLANT_CHANGES
from mlops_demo.core.plant.simulator import SCENARIOS, iter_scenario, simulate

TRAIN, TEST = 4000, 2000


@pytest.fixture(scope="module")
def plant() -> pd.DataFrame:
    return pd.DataFrame(simulate(TRAIN + TEST))


@pytest.mark.parametrize("name", PLANT_CHANGES)
def test_a_change_keeps_the_readings_and_adds_failures_of_its_type(plant, name):
    change = PLANT_CHANGES[name]
    after = change.apply(plant)
    assert after[list(READING_FIELDS)].equals(plant[list(READING_FIELDS)])
    added = (after[TARGET] == 1) & (plant[TARGET] == 0)
    assert added.sum() > 0.01 * len(plant)
    assert (after.loc[added, FAILURE_TYPE] == change.failure_type).all()
    assert (
        (after.loc[~added, [TARGET, FAILURE_TYPE]] == plant.loc[~added, [TARGET, FAILURE_TYPE]])
        .all()
        .all()
    )
    # The publishers carry it as a scenario, record by record, with the same result.
    published = pd.DataFrame(iter_scenario(iter(plant.to_dict("records")), name))
    assert published.equals(after)
    assert SCENARIOS[name].description == change.description


@pytest.mark.parametrize("name", PLANT_CHANGES)
def test_after_a_change_only_a_model_trained_on_the_new_labels_is_right(plant, name):
    after = PLANT_CHANGES[name].apply(plant)
    test = after.iloc[TRAIN:].reset_index(drop=True)

    def f1(verdicts) -> float:
        return confusion(pd.Series(verdicts), test[TARGET]).f1

    rules = f1(rule_verdicts(test).to_numpy())
    retrained = pipeline.build_pipeline(Hyperparameters()).fit(
        after.iloc[:TRAIN][list(FEATURE_COLUMNS)], after.iloc[:TRAIN][TARGET]
    )
    assert rules < 0.8
    assert f1(retrained.predict(test[list(FEATURE_COLUMNS)])) > rules + 0.15
