"""Drift: quiet on clean batches of the simulator and the reference data, and each fault of the
scenario library named by the kind of change it makes."""

import re

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core.messages.records import AIR_TEMPERATURE, PROCESS_TEMPERATURE, TORQUE
from mlops_demo.core.monitoring import drift
from mlops_demo.core.plant.scenarios import FAULTS
from mlops_demo.core.plant.simulator import simulate

THRESHOLDS = drift.DriftThresholds()
REFERENCE_ROWS, BATCH = 2000, 500


@pytest.fixture(scope="module")
def plant() -> pd.DataFrame:
    return pd.DataFrame(simulate(30_000))


def _batches(data: pd.DataFrame, count: int):
    for start in np.linspace(REFERENCE_ROWS, len(data) - BATCH, count).astype(int):
        yield data.iloc[start - REFERENCE_ROWS : start], data.iloc[start : start + BATCH]


def _findings(reference: pd.DataFrame, batch: pd.DataFrame) -> list[drift.Finding]:
    return drift.assess(reference, reference, batch, THRESHOLDS)


def test_consecutive_clean_batches_raise_no_alarm(plant):
    # 40 batches along the simulator's readings: the temperatures wander across them.
    alarms = [
        [f.detail for f in _findings(reference, batch) if f.drifted]
        for reference, batch in _batches(plant, 40)
    ]
    assert sum(bool(a) for a in alarms) <= 1, [a for a in alarms if a]


@pytest.mark.parametrize("name", [n for n in FAULTS if n != "clean"])
def test_each_fault_is_named_by_the_kind_of_change_it_makes(plant, name):
    fault = FAULTS[name]
    for reference, batch in list(_batches(plant, 5)):
        drifted = [f for f in _findings(reference, fault.apply(batch)) if f.drifted]
        assert {f.test for f in drifted} & set(fault.shows_as), (name, [f.detail for f in drifted])


def test_a_step_names_the_sensor_and_the_size_in_kelvin(plant):
    reference, batch = next(_batches(plant, 1))
    findings = _findings(reference, FAULTS["process offset -3 K"].apply(batch))
    [step] = [f for f in findings if f.drifted and f.feature == PROCESS_TEMPERATURE]
    assert step.test == "step" and "steps by -3.0" in step.detail
    assert not any(f.drifted and f.feature == AIR_TEMPERATURE for f in findings)
    assert drift.summary(findings).startswith("drifted: step: Process temperature [K] steps by")


def test_a_torque_sensor_reading_5_percent_low_breaks_the_speed_torque_relation(plant):
    reference, batch = next(_batches(plant, 1))
    findings = _findings(reference, FAULTS["torque x0.95"].apply(batch))
    [relation] = [f for f in findings if f.test == "relation"]
    # The curve expects more speed from the lower torque reported: the speed runs below it.
    assert relation.drifted and re.search(r"speed runs -[12]\.\d% off", relation.detail)
    assert not any(f.drifted for f in findings if f.test in ("step", "stuck"))


def test_holm_keeps_the_family_wise_rate_whatever_the_number_of_tests():
    findings = [drift.Finding("t", str(i), 0.0, p, "") for i, p in enumerate([0.001, 0.004, 0.3])]
    # 0.001 <= 0.01/3, then 0.004 <= 0.01/2, then 0.3 > 0.01: the first two.
    assert [f.drifted for f in drift._holm(findings, 0.01)] == [True, True, False]
    loose = [drift.Finding("t", str(i), 0.0, 0.009, "") for i in range(3)]
    assert not any(f.drifted for f in drift._holm(loose, 0.01))  # each alone would pass


def test_the_temperatures_wander_and_torque_does_not(plant):
    reference = plant.iloc[:5000]
    for feature in (AIR_TEMPERATURE, PROCESS_TEMPERATURE):
        assert drift.autocorrelation_time(reference[feature].to_numpy()) > 100
    assert drift.autocorrelation_time(reference[TORQUE].to_numpy()) < 2
    rng = np.random.default_rng(0)
    assert drift.autocorrelation_time(rng.normal(size=5000)) < 1.3


def test_too_few_readings_give_no_verdict(plant):
    small, large = plant.iloc[:50], plant.iloc[:500]
    assert drift.skip_reason(small, large, 100) == (
        "only 50 training readings to compare with (need 100)"
    )
    assert drift.skip_reason(large, small, 100) == (
        "only 50 readings since the training data (need 100)"
    )
    assert drift.skip_reason(large, large, 100) is None


def test_on_the_reference_data_clean_batches_are_quiet_and_the_faults_flagged(reference_csv):
    data = pd.read_csv(reference_csv, encoding="utf-8-sig")
    clean = [any(f.drifted for f in _findings(r, b)) for r, b in _batches(data, 60)]
    assert sum(clean) == 0
    for name in ("heat wave +5 K", "process offset -3 K", "stuck air sensor", "torque x0.9"):
        flagged = [
            any(f.drifted for f in _findings(r, FAULTS[name].apply(b)))
            for r, b in _batches(data, 30)
        ]
        assert all(flagged), name
