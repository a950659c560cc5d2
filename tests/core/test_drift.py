"""Drift: quiet on the simulator's own readings batch after batch, loud on a named scenario."""

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core import drift
from mlops_demo.core.modelling import FEATURE_COLUMNS
from mlops_demo.core.records import AIR_TEMPERATURE, PROCESS_TEMPERATURE, TORQUE, UDI
from mlops_demo.core.simulator import SCENARIOS, iter_scenario, simulate

THRESHOLDS = drift.DriftThresholds()
TRAINED_THROUGH = 5000
BATCH = 500


@pytest.fixture(scope="module")
def plant() -> pd.DataFrame:
    return pd.DataFrame(simulate(40_000))


def _drifted(frame: pd.DataFrame) -> list[str]:
    reference, newest = frame.iloc[:TRAINED_THROUGH], frame.iloc[TRAINED_THROUGH:]
    results = drift.compare(reference, newest, FEATURE_COLUMNS, THRESHOLDS)
    return [r.feature for r in results if r.drifted]


def test_consecutive_unshifted_batches_raise_no_alarm(plant):
    # 70 batches in a row, as the sensors deliver them: the temperatures wander across them.
    alarms = [
        _drifted(pd.concat([plant.iloc[:TRAINED_THROUGH], plant.iloc[start : start + BATCH]]))
        for start in range(TRAINED_THROUGH, len(plant), BATCH)
    ]
    assert len(alarms) == 70
    assert sum(bool(a) for a in alarms) <= 1, alarms


def test_independent_resamples_alarm_at_most_at_the_nominal_rate(plant):
    reference = plant.iloc[:TRAINED_THROUGH]
    rng = np.random.default_rng(7)
    alarms = 0
    for _ in range(100):
        sample = plant.iloc[rng.choice(len(plant), BATCH, replace=False)]
        results = drift.compare(reference, sample, FEATURE_COLUMNS, THRESHOLDS)
        alarms += any(r.drifted for r in results)
    # Six features at p < 0.01 would give about 6 % by the p-value alone; the PSI floor adds
    # that a shift must also be large.
    assert alarms <= 3


def test_a_torque_sensor_reading_low_is_flagged_on_torque_alone(plant):
    scenario = pd.DataFrame(
        iter_scenario(iter(plant.to_dict("records")[TRAINED_THROUGH:]), "torque-sensor-drift")
    )
    for start in range(0, len(scenario), 5000):
        batch = scenario.iloc[start : start + BATCH]
        assert _drifted(pd.concat([plant.iloc[:TRAINED_THROUGH], batch])) == [TORQUE]
    reference, newest = plant.iloc[:TRAINED_THROUGH], scenario.iloc[:BATCH]
    [torque] = drift.compare(reference, newest, (TORQUE,), THRESHOLDS)
    assert torque.newest_mean == pytest.approx(0.8 * plant[TORQUE].iloc[5000:5500].mean(), 0.01)
    assert drift.summary([torque]).startswith("drifted: Torque [Nm] mean ")


def test_the_temperatures_are_counted_at_their_effective_sample_size(plant):
    reference = plant.iloc[:TRAINED_THROUGH]
    for feature in (AIR_TEMPERATURE, PROCESS_TEMPERATURE):
        assert drift.autocorrelation_time(reference[feature].to_numpy()) > 100
    assert drift.autocorrelation_time(reference[TORQUE].to_numpy()) < 2
    rng = np.random.default_rng(0)
    assert drift.autocorrelation_time(rng.normal(size=5000)) < 1.3


def test_too_few_readings_on_either_side_is_no_verdict(plant):
    small, large = plant.iloc[:50], plant.iloc[:500]
    assert drift.skip_reason(small, large, 100) == (
        "only 50 training readings to compare with (need 100)"
    )
    assert drift.skip_reason(large, small, 100) == (
        "only 50 readings since the training data (need 100)"
    )
    assert drift.skip_reason(large, large, 100) is None


def test_every_scenario_changes_only_what_the_sensors_report(plant):
    records = plant.to_dict("records")[:200]
    for name, scenario in SCENARIOS.items():
        reported = [scenario.reported(record) for record in records]
        assert [r["Target"] for r in reported] == [r["Target"] for r in records], name
        assert [r[UDI] for r in reported] == [r[UDI] for r in records], name
        assert reported != records, name
