"""Sensor faults as states: a fault found at its onset stays found on every batch it lasts, ends
when the sensor is seen repaired or a person clears it, and marks the readings it touched; a
heat wave is noted and is no fault."""

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core.messages.records import AIR_TEMPERATURE, PROCESS_TEMPERATURE, UDI
from mlops_demo.core.monitoring import drift, faults
from mlops_demo.core.plant.scenarios import FAULTS
from mlops_demo.core.plant.simulator import simulate

REFERENCE_ROWS, BATCH, FAULTY, REPAIRED = 2000, 500, 3, 2


@pytest.fixture(scope="module")
def plant() -> pd.DataFrame:
    # Past the simulator's first 5,000 readings, where the relation test's one false alarm in
    # 240 clean batches of `bench/decisions.py` falls: these tests follow states, not rates.
    skipped = 5000
    rows = simulate(skipped + REFERENCE_ROWS + (FAULTY + REPAIRED) * BATCH)
    return pd.DataFrame(rows).iloc[skipped:].reset_index(drop=True)


def _play(plant: pd.DataFrame, fault_name: str) -> list[faults.Followed]:
    """The fault on the first FAULTY batches after the reference, then the repaired sensor."""
    reference = plant.iloc[:REFERENCE_ROWS]
    span = plant.iloc[REFERENCE_ROWS:]
    span = pd.concat([FAULTS[fault_name].apply(span.iloc[: FAULTY * BATCH]),
                      span.iloc[FAULTY * BATCH :]])  # fmt: skip
    log, followed, before = [], [], reference.iloc[-1:]
    for start in range(0, len(span), BATCH):
        batch = span.iloc[start : start + BATCH]
        findings = drift.assess(reference, before, batch, drift.DriftThresholds())
        followed.append(faults.follow(log, findings, batch[UDI].to_numpy()))
        log, before = list(followed[-1].log), batch.iloc[-1:]
    return followed


@pytest.mark.parametrize(
    "fault_name, sensor, kind",
    [
        ("process offset -3 K", PROCESS_TEMPERATURE, faults.OFFSET),
        ("stuck air sensor", AIR_TEMPERATURE, faults.STUCK),
        ("torque x0.9", "Torque [Nm] or Rotational speed [rpm]", faults.OFF_CURVE),
    ],
)
def test_a_fault_stays_found_while_it_lasts_and_ends_with_the_repair(plant, fault_name, sensor,
                                                                      kind):  # fmt: skip
    followed = _play(plant, fault_name)
    first_udi = int(plant[UDI].iloc[REFERENCE_ROWS])
    for during in followed[:FAULTY]:
        [fault] = during.open
        assert (fault.sensor, fault.kind) == (sensor, kind)
        assert fault.since_udi == first_udi  # the offset at its reading, the others at the batch
    repaired_at = first_udi + FAULTY * BATCH
    [ended] = followed[FAULTY].ended
    assert ended.until_udi == repaired_at and not followed[FAULTY].open
    assert not followed[-1].open and not followed[-1].opened and not followed[-1].changes
    udis = plant[UDI].to_numpy()[REFERENCE_ROWS:]
    marked = faults.touched(followed[-1].log, udis)
    assert marked.sum() == FAULTY * BATCH and marked[: FAULTY * BATCH].all()


def test_an_offset_is_found_on_every_batch_after_its_onset_not_only_at_the_step(plant):
    followed = _play(plant, "process offset -3 K")
    [onset] = followed[0].opened
    assert onset.offset == pytest.approx(-3, abs=0.3) and "stepped by -3" in onset.detail
    # The step test alone sees nothing on the later faulty batches; the state does.
    assert all(not f.opened and f.open == (onset,) for f in followed[1:FAULTY])
    assert "a step of +3" in followed[FAULTY].ended[0].ended_by


def test_a_heat_wave_is_noted_as_absorbed_and_opens_no_fault(plant):
    followed = _play(plant, "heat wave +5 K")
    assert "stepped together" in followed[0].absorbed[0]
    assert all(not f.open and not f.opened and not f.changes for f in followed)
    assert not faults.touched(followed[-1].log, plant[UDI].to_numpy()).any()


def test_a_person_clears_an_open_fault_and_the_readings_stay_marked(plant):
    followed = _play(plant, "process offset -3 K")
    log = list(followed[1].log)
    cleared = faults.cleared(log, PROCESS_TEMPERATURE, at_udi=8000)
    [fault] = cleared
    assert not fault.is_open and fault.ended_by == faults.CLEARED and fault.until_udi == 8000
    assert faults.cleared(log, AIR_TEMPERATURE, at_udi=8000) == log  # another sensor: untouched
    assert faults.from_json(faults.to_json(cleared)) == cleared
    assert faults.from_json(None) == []


def test_the_same_step_seen_by_two_overlapping_windows_opens_one_fault(plant):
    reference, batch = (
        plant.iloc[:REFERENCE_ROWS],
        plant.iloc[REFERENCE_ROWS : REFERENCE_ROWS + 800],
    )
    shifted = FAULTS["process offset -3 K"].apply(batch.iloc[300:])
    window = pd.concat([batch.iloc[:300], shifted])
    log = []
    for start in (0, 200):
        newest, before = window.iloc[start : start + 500], window.iloc[:start].tail(1)
        before = reference.iloc[-1:] if before.empty else before
        findings = drift.assess(reference, before, newest, drift.DriftThresholds())
        log = list(faults.follow(log, findings, newest[UDI].to_numpy()).log)
    assert len(log) == 1 and log[0].since_udi == int(window[UDI].iloc[300])
    assert np.array_equal(faults.touched(log, window[UDI]), np.arange(800) >= 300)
