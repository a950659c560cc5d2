"""The record schema: the AI4I 2020 column names and which of them travel in which message."""

import json

UDI = "UDI"
PRODUCT_ID = "Product ID"
TYPE = "Type"
AIR_TEMPERATURE = "Air temperature [K]"
PROCESS_TEMPERATURE = "Process temperature [K]"
ROTATIONAL_SPEED = "Rotational speed [rpm]"
TORQUE = "Torque [Nm]"
TOOL_WEAR = "Tool wear [min]"
TARGET = "Target"
FAILURE_TYPE = "Failure Type"

READING_FIELDS = (
    UDI,
    PRODUCT_ID,
    TYPE,
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TORQUE,
    TOOL_WEAR,
)
STATUS_FIELDS = (UDI, TARGET, FAILURE_TYPE)
ALL_COLUMNS = (*READING_FIELDS, TARGET, FAILURE_TYPE)

PRODUCT_TYPES = ("L", "M", "H")

NO_FAILURE = "No Failure"
HEAT_DISSIPATION_FAILURE = "Heat Dissipation Failure"
POWER_FAILURE = "Power Failure"
OVERSTRAIN_FAILURE = "Overstrain Failure"
TOOL_WEAR_FAILURE = "Tool Wear Failure"
RANDOM_FAILURE = "Random Failures"
FAILURE_TYPES = (
    NO_FAILURE,
    HEAT_DISSIPATION_FAILURE,
    POWER_FAILURE,
    OVERSTRAIN_FAILURE,
    TOOL_WEAR_FAILURE,
    RANDOM_FAILURE,
)


def reading_of(record: dict) -> dict:
    """The morning reading carried by a full record."""
    return {field: record[field] for field in READING_FIELDS}


def status_of(record: dict) -> dict:
    """The evening status carried by a full record."""
    return {field: record[field] for field in STATUS_FIELDS}


# One encoder for every record: json.dumps with options builds a new one per call.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical_line(record: dict) -> bytes:
    """The record's one stored form, without its newline."""
    return _CANONICAL.encode(record).encode()
