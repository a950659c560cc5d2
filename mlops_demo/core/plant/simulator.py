"""A deterministic machine simulator following the AI4I 2020 data set's generation process.

Record k for a seed is the same whatever offset or batch size asked for it: generation always
starts at record 0 and draws its random numbers in fixed-size blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    FAILURE_TYPE,
    HEAT_DISSIPATION_FAILURE,
    NO_FAILURE,
    OVERSTRAIN_FAILURE,
    POWER_FAILURE,
    PROCESS_TEMPERATURE,
    PRODUCT_ID,
    RANDOM_FAILURE,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TOOL_WEAR_FAILURE,
    TORQUE,
    TYPE,
    UDI,
)
from mlops_demo.core.plant.physics import (
    HEAT_DISSIPATION_MAX_DIFF_K,
    HEAT_DISSIPATION_MAX_RPM,
    OVERSTRAIN_LIMIT_MIN_NM,
    POWER_MAX_W,
    POWER_MIN_W,
    SPEED_LOG_NOISE,
    SPEED_SCALE_RPM,
    SPEED_TORQUE_EXPONENT,
    TOOL_REPLACEMENT_WINDOW_MIN,
)
from mlops_demo.core.plant.scenarios import PLANT_CHANGES

DEFAULT_SEED = 42
_BLOCK = 1024

TYPE_PROBABILITIES = {"L": 0.5, "M": 0.3, "H": 0.2}
# Serial numbers continue the reference data's, so Product IDs look alike.
_SERIAL_BASE = {"L": 47179, "M": 14859, "H": 29413}
TOOL_WEAR_STEP_MIN = {"L": 2, "M": 3, "H": 5}

AIR_MEAN_K, AIR_STD_K = 300.0, 2.0
PROCESS_OFFSET_K, PROCESS_STD_K = 10.0, 1.0
# Lag-one autocorrelations of the reference data: the walks drift as slowly as the real ones.
AIR_PERSISTENCE, PROCESS_PERSISTENCE = 0.9994, 0.9975
TORQUE_MEAN_NM, TORQUE_STD_NM = 40.0, 10.0
# Speed is derived from the drive's curve (physics.SPEED_*; a constant power would be τ^-1):
# that fit gives the reference data's speed spread and power-failure rate.
# At the replacement point the paper's tool was replaced 69 times and failed 51 times.
TOOL_FAILURE_SHARE = 51 / 120
RANDOM_FAILURE_PROBABILITY = 0.001


def simulate(n: int, offset: int = 0, seed: int = DEFAULT_SEED) -> list[dict]:
    """Records offset .. offset + n - 1 (UDI offset + 1 onwards) for the given seed."""
    if n < 0 or offset < 0:
        raise ValueError(f"n and offset must not be negative, got n={n}, offset={offset}")
    out: list[dict] = []
    for record in iter_records(seed):
        if record[UDI] > offset + n:
            break
        if record[UDI] > offset:
            out.append(record)
    return out


def iter_records(seed: int = DEFAULT_SEED) -> Iterator[dict]:
    """Every record for the seed, from UDI 1 on, without end."""
    rng = np.random.default_rng(seed)
    air_walk = rng.normal(0.0, AIR_STD_K)
    process_walk = rng.normal(0.0, PROCESS_STD_K)
    air_step = AIR_STD_K * math.sqrt(1 - AIR_PERSISTENCE**2)
    process_step = PROCESS_STD_K * math.sqrt(1 - PROCESS_PERSISTENCE**2)
    wear = 0
    wear_limit = int(rng.integers(*TOOL_REPLACEMENT_WINDOW_MIN, endpoint=True))
    types = list(TYPE_PROBABILITIES)
    udi = 0
    while True:
        block = _draw_block(rng, air_step, process_step)
        for i in range(_BLOCK):
            udi += 1
            kind = types[block.kinds[i]]
            air_walk = AIR_PERSISTENCE * air_walk + block.air_noise[i]
            process_walk = PROCESS_PERSISTENCE * process_walk + block.process_noise[i]
            air = round(AIR_MEAN_K + air_walk, 1)
            process = round(air + PROCESS_OFFSET_K + process_walk, 1)
            torque = round(float(block.torques[i]), 1)
            speed = _speed_rpm(torque, float(block.speed_noise[i]))
            wear += TOOL_WEAR_STEP_MIN[kind]
            failure = _failure_type(
                kind=kind,
                air=air,
                process=process,
                speed=speed,
                torque=torque,
                wear=wear,
                tool_worn_out=wear >= wear_limit,
                tool_fails=bool(block.tool_fails[i]),
                random_fails=bool(block.random_fails[i]),
            )
            yield {
                UDI: udi,
                PRODUCT_ID: f"{kind}{_SERIAL_BASE[kind] + udi}",
                TYPE: kind,
                AIR_TEMPERATURE: air,
                PROCESS_TEMPERATURE: process,
                ROTATIONAL_SPEED: speed,
                TORQUE: torque,
                TOOL_WEAR: wear,
                TARGET: int(failure != NO_FAILURE),
                FAILURE_TYPE: failure,
            }
            if wear >= wear_limit or failure == TOOL_WEAR_FAILURE:
                wear = 0
                wear_limit = int(block.next_limits[i])


class _Block(NamedTuple):
    kinds: np.ndarray
    air_noise: np.ndarray
    process_noise: np.ndarray
    torques: np.ndarray
    speed_noise: np.ndarray
    tool_fails: np.ndarray
    random_fails: np.ndarray
    next_limits: np.ndarray


def _draw_block(rng: np.random.Generator, air_step: float, process_step: float) -> _Block:
    """The random numbers for the next _BLOCK records, always drawn in this order."""
    return _Block(
        rng.choice(len(TYPE_PROBABILITIES), size=_BLOCK, p=list(TYPE_PROBABILITIES.values())),
        rng.normal(0.0, air_step, _BLOCK),
        rng.normal(0.0, process_step, _BLOCK),
        np.maximum(rng.normal(TORQUE_MEAN_NM, TORQUE_STD_NM, _BLOCK), 0.0),
        rng.normal(0.0, SPEED_LOG_NOISE, _BLOCK),
        rng.random(_BLOCK) < TOOL_FAILURE_SHARE,
        rng.random(_BLOCK) < RANDOM_FAILURE_PROBABILITY,
        rng.integers(*TOOL_REPLACEMENT_WINDOW_MIN, size=_BLOCK, endpoint=True),
    )


def _speed_rpm(torque: float, log_noise: float) -> int:
    # Below 1 Nm the curve would run away; the reference data's lowest torque is 3.8 Nm.
    curve = SPEED_SCALE_RPM * max(torque, 1.0) ** SPEED_TORQUE_EXPONENT
    return round(curve * math.exp(log_noise))


def _failure_type(
    *,
    kind: str,
    air: float,
    process: float,
    speed: int,
    torque: float,
    wear: int,
    tool_worn_out: bool,
    tool_fails: bool,
    random_fails: bool,
) -> str:
    """The first failure mode that fires, in the order the data set's documentation lists them."""
    if tool_worn_out and tool_fails:
        return TOOL_WEAR_FAILURE
    if process - air < HEAT_DISSIPATION_MAX_DIFF_K and speed < HEAT_DISSIPATION_MAX_RPM:
        return HEAT_DISSIPATION_FAILURE
    power = torque * speed * 2 * math.pi / 60
    if not POWER_MIN_W <= power <= POWER_MAX_W:
        return POWER_FAILURE
    if wear * torque > OVERSTRAIN_LIMIT_MIN_NM[kind]:
        return OVERSTRAIN_FAILURE
    if random_fails:
        return RANDOM_FAILURE
    return NO_FAILURE


@dataclass(frozen=True)
class Scenario:
    """A named way the published records differ from the plain simulator's: a sensor that drifts
    changes what the readings report, never what happened (the statuses stay the plant's); a
    change of the plant changes what happened, never the readings (`scenarios.PLANT_CHANGES`).
    Publish both streams with the same scenario."""

    name: str
    description: str
    reported: Callable[[dict], dict]


TORQUE_SENSOR_FACTOR = 0.8


def _torque_sensor_drift(record: dict) -> dict:
    return {**record, TORQUE: round(record[TORQUE] * TORQUE_SENSOR_FACTOR, 1)}


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "torque-sensor-drift",
            f"the torque sensors read {1 - TORQUE_SENSOR_FACTOR:.0%} low; machines fail as "
            "their real torque dictates",
            _torque_sensor_drift,
        ),
        *(
            Scenario(change.name, change.description, change.relabel)
            for change in PLANT_CHANGES.values()
        ),
    )
}


def iter_scenario(records: Iterator[dict], scenario: str | None) -> Iterator[dict]:
    """The records as the named scenario reports them (unchanged for None)."""
    if scenario is None:
        return records
    return map(SCENARIOS[scenario].reported, records)
