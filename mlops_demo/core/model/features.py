"""The model's inputs, derived from a reading's raw columns, and the record of what a model was
trained on (its signature), against which each reading is checked before it is scored."""

from __future__ import annotations

import pandas as pd

from mlops_demo.core.messages.records import (
    PRODUCT_ID,
    PRODUCT_TYPES,
    READING_FIELDS,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
    TYPE,
    UDI,
)
from mlops_demo.core.plant import physics

ID_COLUMN = UDI
LABEL_COLUMN = TARGET
# Everything a reading measures; its UDI and Product ID name the machine and predict nothing.
FEATURE_COLUMNS = tuple(field for field in READING_FIELDS if field not in (UDI, PRODUCT_ID))
_TYPE_CODES = {kind: code for code, kind in enumerate(PRODUCT_TYPES)}


def physics_features(readings: pd.DataFrame) -> pd.DataFrame:
    """The quantities the failure modes are defined on, and nothing that wanders. The air and
    process temperatures follow the weather (a slow random walk), so their level is left out;
    only their difference acts on the machine."""
    q = physics.quantities(readings)
    features = readings[[ROTATIONAL_SPEED, TORQUE, TOOL_WEAR]].astype(float)
    features["temperature_difference_k"] = q["temperature_difference_k"]
    features["mechanical_power_w"] = q["mechanical_power_w"]
    features["tool_wear_torque_min_nm"] = q["tool_wear_torque_min_nm"]
    features["overstrain_margin_min_nm"] = (
        q["overstrain_limit_min_nm"] - q["tool_wear_torque_min_nm"]
    )
    features["product_type_code"] = readings[TYPE].map(_TYPE_CODES).astype(float)
    return features


def model_inputs(readings: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs: the physical quantities, and the margin to each documented limit
    with whether it is breached, so that a model trained on a few hundred readings knows the
    limits beyond what those readings happened to show."""
    return pd.concat([physics_features(readings), physics.limit_features(readings)], axis=1)


def input_signature(frame: pd.DataFrame) -> dict[str, dict]:
    """What the model was trained on, input by input: the product types seen, and each numeric
    input's range (the derived ones included, the temperatures' level not: the model does not
    use it)."""
    features = physics_features(frame).drop(columns=["product_type_code"])
    signature = {TYPE: {"kind": "category", "values": sorted(frame[TYPE].unique().tolist())}}
    for column in features.columns:
        values = features[column]
        signature[column] = {
            "kind": "number",
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return signature


class SignatureMismatch(ValueError):
    """The readings cannot be scored by this model at all; the text says why."""


def outside_signature(readings: pd.DataFrame, signature: dict[str, dict]) -> pd.Series:
    """Per reading, why the model should not score it ("" when it may): a category it never saw,
    or a number further outside its trained range than that range is wide (readings drift
    slowly, so a little past the edge is still the model's ground; far past it, the model only
    extrapolates). Raises SignatureMismatch when a column is missing or not of its kind, since
    then no reading can be scored."""
    missing = [column for column in FEATURE_COLUMNS if column not in readings.columns]
    if missing:
        raise SignatureMismatch(f"the readings lack the model's columns: {', '.join(missing)}")
    reasons = pd.Series("", index=readings.index)
    if readings.empty:  # no values, so no kind to check (an empty column reads as object)
        return reasons
    for column in FEATURE_COLUMNS:
        if column != TYPE and not pd.api.types.is_numeric_dtype(readings[column]):
            raise SignatureMismatch(f"{column} holds {readings[column].dtype} values, not numbers")
    # What `input_signature` signs: the product type as read, and the derived numeric inputs.
    inputs = physics_features(readings).assign(**{TYPE: readings[TYPE]})
    for column, spec in signature.items():
        values = inputs[column]
        if spec["kind"] == "category":
            outside = ~values.isin(spec["values"])
            allowed = ", ".join(spec["values"])
            detail = f"{column} " + values.astype(str) + f" is not one of the trained ({allowed})"
        else:
            if not pd.api.types.is_numeric_dtype(values):
                raise SignatureMismatch(f"{column} holds {values.dtype} values, not numbers")
            span = spec["max"] - spec["min"]
            low, high = spec["min"] - span, spec["max"] + span
            outside = (values < low) | (values > high)
            trained = f"trained range {spec['min']:g}-{spec['max']:g} (accepted {low:g}-{high:g})"
            detail = f"{column} " + values.astype(str) + f" is far outside the {trained}"
        reasons = reasons.where(~outside | (reasons != ""), detail)
    return reasons
