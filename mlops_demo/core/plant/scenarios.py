"""Named faults for a batch of readings: what the sensors report when something is wrong, never
what happened, so the statuses (and failure types) stay those of the unchanged plant. The
decision benchmark and the tests apply them to clean batches of the reference data and of the
simulator; `clean` changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    TOOL_WEAR,
    TORQUE,
    TYPE,
)


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    apply: Callable[[pd.DataFrame], pd.DataFrame]
    # The kinds of finding that name it (core/monitoring/drift.py); empty for the clean batch.
    shows_as: tuple[str, ...] = ()


def _shift(columns: tuple[str, ...], kelvin: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda batch: batch.assign(**{c: (batch[c] + kelvin).round(1) for c in columns})


def _torque(factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda batch: batch.assign(**{TORQUE: (batch[TORQUE] * factor).round(1)})


def _stuck_air(batch: pd.DataFrame) -> pd.DataFrame:
    return batch.assign(**{AIR_TEMPERATURE: float(batch[AIR_TEMPERATURE].iloc[0])})


def _tool_counter_reset(batch: pd.DataFrame) -> pd.DataFrame:
    """The wear counter restarts from 0 at the batch's first reading and counts the same steps;
    a real replacement later in the batch resets it again."""
    wear = batch[TOOL_WEAR].to_numpy(float)
    steps = np.diff(wear, prepend=wear[0])
    counted = np.empty_like(wear)
    total = 0.0
    for i, step in enumerate(steps):
        total = 0.0 if i == 0 or step < 0 else total + step
        counted[i] = total
    return batch.assign(**{TOOL_WEAR: counted})


def _product_mix(batch: pd.DataFrame) -> pd.DataFrame:
    """Half the machines of type L now report type H (a new line of heavy products)."""
    rng = np.random.default_rng(0)
    swap = (batch[TYPE] == "L").to_numpy() & (rng.random(len(batch)) < 0.5)
    return batch.assign(**{TYPE: np.where(swap, "H", batch[TYPE])})


BOTH_TEMPERATURES = (AIR_TEMPERATURE, PROCESS_TEMPERATURE)
FAULTS = {
    fault.name: fault
    for fault in (
        Fault("clean", "no fault", lambda batch: batch),
        Fault("heat wave +5 K", "air and process read 5 K higher", _shift(BOTH_TEMPERATURES, 5),
              ("step",)),
        Fault("heat wave +15 K", "air and process read 15 K higher",
              _shift(BOTH_TEMPERATURES, 15), ("step",)),
        Fault("process offset -3 K", "the process sensor alone reads 3 K low",
              _shift((PROCESS_TEMPERATURE,), -3), ("step",)),
        Fault("stuck air sensor", "the air sensor repeats one value", _stuck_air, ("stuck",)),
        Fault("torque x0.8", "the torque sensors read 20 % low", _torque(0.8),
              ("distribution", "relation")),
        Fault("torque x0.9", "the torque sensors read 10 % low", _torque(0.9),
              ("distribution", "relation")),
        Fault("torque x0.95", "the torque sensors read 5 % low", _torque(0.95),
              ("distribution", "relation")),
        Fault("tool-wear counter reset", "the wear counter restarts from 0",
              _tool_counter_reset, ("early reset", "distribution")),
        Fault("product mix", "half the type-L machines become type H", _product_mix,
              ("distribution",)),
    )
}  # fmt: skip
