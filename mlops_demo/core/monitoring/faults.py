"""Sensor faults as states: once found, a fault stays found until the sensor is seen repaired or
a person clears it, and the readings it touched are left out of training, never deleted.

The drift tests (`drift.py`) judge one batch each. A stuck sensor and a torque or speed sensor
off the speed-torque curve show on every batch they last, so each lasts until the first batch
that passes its test. An offset shows only where it begins: the temperatures are a random walk,
so their level a batch later says nothing. What lasts is the step itself: a sensor that stepped
by -3 K reads 3 K off until it steps back. So an offset is kept with its size, and only a later
step on the same sensor, of the opposite sign and at least half as large, ends it.

Air and process temperature stepping together while their difference does not is no fault: the
plant's surroundings changed (a heat wave), and the model's inputs, the margins to the
documented limits, absorb it. It is noted and nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import numpy as np

from mlops_demo.core.common.locations import SENSOR_FAULTS_FILE
from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TORQUE,
)
from mlops_demo.core.monitoring.drift import (
    POWER,
    SPEED_FOR_TORQUE,
    TEMPERATURE_DIFFERENCE,
    Finding,
)
from mlops_demo.core.registry.storage import RegistryStorage

OFFSET, STUCK, OFF_CURVE = "offset", "stuck", "off the speed-torque curve"
# The sensor an offset seen only in the temperature difference is on: either could be.
EITHER_TEMPERATURE = "air or process temperature"
# Findings on these features are what an open off-curve fault shows, not a change of their own.
_OFF_CURVE_SHOWS_ON = {TORQUE, ROTATIONAL_SPEED, POWER, SPEED_FOR_TORQUE}
CLEARED = "cleared by a person"


@dataclass(frozen=True)
class SensorFault:
    sensor: str
    kind: str  # OFFSET, STUCK or OFF_CURVE
    since_udi: int  # the first reading it touched
    detail: str  # how it showed, in the reading's units
    offset: float = 0.0  # an offset's size: what the sensor adds to the true value
    until_udi: int | None = None  # the first reading right again; None while it lasts
    ended_by: str = ""

    @property
    def is_open(self) -> bool:
        return self.until_udi is None

    def touches(self, udis: np.ndarray) -> np.ndarray:
        """Which of the readings with these UDIs it touched."""
        udis = np.asarray(udis)
        after = udis >= self.since_udi
        return after if self.until_udi is None else after & (udis < self.until_udi)

    def described(self) -> str:
        lasting = (
            f"since UDI {self.since_udi}"
            if self.is_open
            else f"UDI {self.since_udi}-{self.until_udi - 1}, ended: {self.ended_by}"
        )
        return f"{self.sensor} {self.kind} ({self.detail}), {lasting}"


@dataclass(frozen=True)
class Followed:
    """The fault log after one batch, and what that batch changed in it."""

    log: tuple[SensorFault, ...]  # every fault, open and ended, oldest first
    opened: tuple[SensorFault, ...]
    ended: tuple[SensorFault, ...]
    absorbed: tuple[str, ...]  # shifts the model's inputs absorb, described
    changes: tuple[Finding, ...]  # drifted findings that are neither a fault nor absorbed

    @property
    def open(self) -> tuple[SensorFault, ...]:
        return tuple(f for f in self.log if f.is_open)


def follow(log: Iterable[SensorFault], findings: list[Finding], udis: np.ndarray) -> Followed:
    """The log after a batch: `findings` are the drift tests of the batch whose readings have
    these UDIs, in order."""
    udis = np.asarray(udis)
    steps = {f.feature: f for f in findings if f.test == "step" and f.drifted}
    log = list(log)
    ended, opened = _follow_lasting(log, findings, udis)
    # A stuck sensor that moves again jumps to the true value: a step, and no offset.
    for fault in log:
        if fault.kind == STUCK and fault.is_open:  # ended by this batch, it is open in `log`
            _use_up(steps, fault.sensor)
    ended += _end_offsets(log, steps, udis)
    new_offsets, absorbed = _new_offsets(log, steps, udis)
    opened += new_offsets
    ended_by_key = {_key(e): e for e in ended}
    log = [ended_by_key.get(_key(f), f) for f in log] + opened
    off_curve = any(f.kind == OFF_CURVE and f.is_open for f in log)
    changes = tuple(
        f for f in findings
        if f.drifted and f.test not in ("step", "stuck", "relation")
        and not (off_curve and f.feature in _OFF_CURVE_SHOWS_ON)
    )  # fmt: skip
    return Followed(tuple(log), tuple(opened), tuple(ended), tuple(absorbed), changes)


def _key(fault: SensorFault) -> tuple[str, str, int]:
    """What names one fault in the log: a stuck sensor and an offset on it are two."""
    return fault.sensor, fault.kind, fault.since_udi


def _end_offsets(log: list[SensorFault], steps: dict[str, Finding], udis: np.ndarray) -> list:
    """The open offsets a step back ends; the steps that did so are used up."""
    ended = []
    for fault in (f for f in log if f.is_open and f.kind == OFFSET):
        seen_on = TEMPERATURE_DIFFERENCE if fault.sensor == EITHER_TEMPERATURE else fault.sensor
        step = steps.get(seen_on)
        if step is None or step.change * fault.offset >= 0:
            continue
        if abs(step.change) < abs(fault.offset) / 2:
            continue
        at = int(udis[step.at])
        by = f"a step of {step.change:+.1f} back at UDI {at}"
        ended.append(replace(fault, until_udi=at, ended_by=by))
        _use_up(steps, seen_on)
    return ended


def _use_up(steps: dict[str, Finding], sensor: str) -> None:
    """Take the step on `sensor` as explained, and the difference's step at the same reading."""
    step = steps.pop(sensor, None)
    difference = steps.get(TEMPERATURE_DIFFERENCE)
    if step is not None and difference is not None and difference.at == step.at:
        steps.pop(TEMPERATURE_DIFFERENCE)


def _new_offsets(
    log: list[SensorFault], steps: dict[str, Finding], udis: np.ndarray
) -> tuple[list[SensorFault], list[str]]:
    air, process = steps.get(AIR_TEMPERATURE), steps.get(PROCESS_TEMPERATURE)
    difference = steps.get(TEMPERATURE_DIFFERENCE)
    if air and process and not difference:
        at = int(udis[air.at])
        return [], [f"air and process temperature stepped together ({air.change:+.1f} K and "
                     f"{process.change:+.1f} K at UDI {at}) and their difference did not: a "
                     "change of the surroundings, which the model's inputs absorb"]  # fmt: skip
    if process and not air:
        step, sensor = process, PROCESS_TEMPERATURE
    elif air and not process:
        step, sensor = air, AIR_TEMPERATURE
    elif difference:
        step, sensor = difference, EITHER_TEMPERATURE
    else:
        return [], []
    at = int(udis[step.at])
    if any(f.sensor == sensor and f.since_udi == at for f in log):
        return [], []  # the same step, seen again by an overlapping window
    detail = f"stepped by {step.change:+.1f} at UDI {at}"
    return [SensorFault(sensor, OFFSET, at, detail, offset=step.change)], []


def _follow_lasting(
    log: list[SensorFault], findings: list[Finding], udis: np.ndarray
) -> tuple[list[SensorFault], list[SensorFault]]:
    """Stuck sensors and the speed-torque relation: open while their test fails, ended by the
    first batch that passes it."""
    ended, opened = [], []
    first = int(udis[0])
    for finding in (f for f in findings if f.test in ("stuck", "relation")):
        kind = STUCK if finding.test == "stuck" else OFF_CURVE
        sensor = finding.feature if kind == STUCK else f"{TORQUE} or {ROTATIONAL_SPEED}"
        current = next((f for f in log if f.is_open and (f.sensor, f.kind) == (sensor, kind)), None)
        if finding.drifted and current is None:
            opened.append(SensorFault(sensor, kind, first, finding.detail))
        elif not finding.drifted and current is not None:
            by = f"its test passed again from UDI {first}"
            ended.append(replace(current, until_udi=first, ended_by=by))
    return ended, opened


def cleared(log: Iterable[SensorFault], sensor: str | None, at_udi: int) -> list[SensorFault]:
    """The log with the open faults on `sensor` (all of them when None) ended at `at_udi`, by a
    person who has repaired the sensor or judged the alarm false."""
    return [
        replace(f, until_udi=max(at_udi, f.since_udi), ended_by=CLEARED)
        if f.is_open and sensor in (None, f.sensor)
        else f
        for f in log
    ]


def touched(log: Iterable[SensorFault], udis: np.ndarray) -> np.ndarray:
    """Which of the readings with these UDIs any fault touched: training leaves them out."""
    udis = np.asarray(udis)
    marked = np.zeros(len(udis), dtype=bool)
    for fault in log:
        marked |= fault.touches(udis)
    return marked


def to_json(log: Iterable[SensorFault]) -> bytes:
    return json.dumps([asdict(f) for f in log], indent=1).encode()


def from_json(data: bytes | None) -> list[SensorFault]:
    return [SensorFault(**fields) for fields in json.loads(data)] if data else []


class FaultLog:
    """The log, kept beside the model registry (its folder, or its PostgreSQL tables), where
    every machine that trains or ingests reads it."""

    def __init__(self, storage: RegistryStorage):
        self.storage = storage

    def read(self) -> list[SensorFault]:
        try:
            return from_json(self.storage.read_file(SENSOR_FAULTS_FILE))
        except FileNotFoundError:
            return []

    def follow(self, findings: list[Finding], udis: np.ndarray) -> Followed:
        """Follow a batch's findings and keep what changed, one writer at a time."""
        with self.storage.locked():
            followed = follow(self.read(), findings, udis)
            if followed.opened or followed.ended:
                self.storage.write_file(SENSOR_FAULTS_FILE, to_json(followed.log))
        return followed

    def clear(self, sensor: str | None, at_udi: int) -> list[SensorFault]:
        """End the open faults on `sensor` (every open one when None); returns those ended."""
        with self.storage.locked():
            log = self.read()
            after = cleared(log, sensor, at_udi)
            ended = [new for old, new in zip(log, after, strict=True) if old != new]
            if ended:
                self.storage.write_file(SENSOR_FAULTS_FILE, to_json(after))
        return ended
