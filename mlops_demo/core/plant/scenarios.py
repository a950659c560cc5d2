"""Named faults for a batch of readings, and named changes of the plant itself.

A fault changes what the sensors report when something is wrong, never what happened, so the
statuses (and failure types) stay those of the unchanged plant; `clean` changes nothing.

A plant change is the opposite: the readings stay the same and the machines fail by a rule the
documented limits do not know (a new tool supplier, worse cooling, a weaker drive). After one,
the documented rules and a model trained before it are both wrong, and only a model trained on
the labels since the change is right. The decision benchmark and the tests apply both to
batches of the reference data and of the simulator; the publishers carry them as scenarios
(`simulator.SCENARIOS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    FAILURE_TYPE,
    HEAT_DISSIPATION_FAILURE,
    OVERSTRAIN_FAILURE,
    POWER_FAILURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
    TYPE,
)
from mlops_demo.core.plant.physics import (
    HEAT_DISSIPATION_MAX_DIFF_K,
    HEAT_DISSIPATION_MAX_RPM,
    OVERSTRAIN_LIMIT_MIN_NM,
    POWER_MIN_W,
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


# Plant changes ---------------------------------------------------------------------------------

# A reading's fields: one record (a dict) or a batch (a DataFrame); the rules read either.
Readings = dict | pd.DataFrame


@dataclass(frozen=True)
class PlantChange:
    name: str
    description: str
    # Where a reading now fails, by the new rule: a bool for a record, an array for a batch.
    breaks: Callable[[Readings], object]
    failure_type: str

    def apply(self, batch: pd.DataFrame) -> pd.DataFrame:
        """The batch's statuses after the change; its readings are untouched."""
        newly = np.asarray(self.breaks(batch), dtype=bool) & (batch[TARGET] == 0).to_numpy()
        return batch.assign(**{
            TARGET: np.where(newly, 1, batch[TARGET]),
            FAILURE_TYPE: np.where(newly, self.failure_type, batch[FAILURE_TYPE]),
        })  # fmt: skip

    def relabel(self, record: dict) -> dict:
        """One record's status after the change."""
        if record[TARGET] or not self.breaks(record):
            return record
        return {**record, TARGET: 1, FAILURE_TYPE: self.failure_type}


def _overstrain_limit(readings: Readings):
    kind = readings[TYPE]
    return kind.map(OVERSTRAIN_LIMIT_MIN_NM) if isinstance(kind, pd.Series) else (
        OVERSTRAIN_LIMIT_MIN_NM[kind])  # fmt: skip


TOOL_LIMIT_SHARE = 0.8
COOLING_MARGIN_LOST_K = 1.0
DRIVE_MIN_W = 4000.0


def _weaker_tools(r: Readings):
    return r[TORQUE] * r[TOOL_WEAR] > TOOL_LIMIT_SHARE * _overstrain_limit(r)


def _worse_cooling(r: Readings):
    difference = r[PROCESS_TEMPERATURE] - r[AIR_TEMPERATURE]
    return (difference < HEAT_DISSIPATION_MAX_DIFF_K + COOLING_MARGIN_LOST_K) & (
        r[ROTATIONAL_SPEED] < HEAT_DISSIPATION_MAX_RPM)  # fmt: skip


def _weaker_drive(r: Readings):
    return r[TORQUE] * r[ROTATIONAL_SPEED] * 2 * np.pi / 60 < DRIVE_MIN_W


PLANT_CHANGES = {
    change.name: change
    for change in (
        PlantChange("weaker-tools", f"a new tool supplier: tools overstrain at "
                    f"{TOOL_LIMIT_SHARE:.0%} of the documented wear x torque limits",
                    _weaker_tools, OVERSTRAIN_FAILURE),
        PlantChange("worse-cooling", f"the cooling loses {COOLING_MARGIN_LOST_K:.0f} K of margin:"
                    f" heat dissipation fails below a "
                    f"{HEAT_DISSIPATION_MAX_DIFF_K + COOLING_MARGIN_LOST_K:.1f} K difference "
                    f"(documented {HEAT_DISSIPATION_MAX_DIFF_K} K)",
                    _worse_cooling, HEAT_DISSIPATION_FAILURE),
        PlantChange("weaker-drive", f"a weaker drive: power fails below {DRIVE_MIN_W:,.0f} W "
                    f"(documented {POWER_MIN_W:,.0f} W)", _weaker_drive, POWER_FAILURE),
    )
}  # fmt: skip
