"""Cleaning rules: every kind of bad input gets a specific reason, every body something (a
line or a reason, never an exception); good input is stored in its one canonical form."""

import json

import pytest

from mlops_demo.core.messages.cleaning import (
    MAX_BODY_BYTES,
    MAX_PRODUCT_ID_CHARS,
    MAX_UDI,
    PHYSICAL_RANGES,
    clean_reading,
    clean_status,
)
from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    PRODUCT_ID,
    ROTATIONAL_SPEED,
    TOOL_WEAR,
    TORQUE,
    TYPE,
    UDI,
    reading_of,
    status_of,
)

READING = {
    "UDI": 7,
    "Product ID": "L47186",
    "Type": "L",
    "Air temperature [K]": 298.1,
    "Process temperature [K]": 308.6,
    "Rotational speed [rpm]": 1551,
    "Torque [Nm]": 42.8,
    "Tool wear [min]": 0,
}
STATUS = {"UDI": 7, "Target": 1, "Failure Type": "Power Failure"}
# The form the stores have always written: compact, schema order, non-ASCII as is.
PYTHON_FORM = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

_DROP = object()


def _reading(field: str, value) -> bytes:
    obj = dict(READING)
    if value is _DROP:
        obj.pop(field)
    else:
        obj[field] = value
    return json.dumps(obj).encode()


def _with(field: str, raw: str) -> bytes:
    """The reading with the field's value spelled exactly as `raw`."""
    return json.dumps(READING).replace(json.dumps(READING[field]), raw, 1).encode()


def test_a_good_reading_and_status_are_stored_as_they_were_sent():
    reading = clean_reading(json.dumps(READING).encode())
    assert (reading.udi, reading.reason) == (7, None)
    assert reading.line == PYTHON_FORM.encode(READING).encode()
    status = clean_status(json.dumps(STATUS).encode())
    assert (status.udi, status.line) == (7, PYTHON_FORM.encode(STATUS).encode())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "Expected `object`, got `array`"),
        (b'"text"', "Expected `object`, got `str`"),
        (b"\xff\xfe{}", "body is not valid UTF-8 (byte 0)"),
        (b" " * (MAX_BODY_BYTES + 1), "over the 65536-byte limit"),
        (_reading(TORQUE, _DROP), "Object missing required field `Torque [Nm]`"),
        (json.dumps({**READING, "extra": 1}).encode(), "Object contains unknown field `extra`"),
        (_reading(TORQUE, "42"), "Expected `float`, got `str` - at `$.Torque [Nm]`"),
        (_reading(TORQUE, True), "Expected `float`, got `bool` - at `$.Torque [Nm]`"),
        (_reading(TORQUE, None), "Expected `float`, got `null` - at `$.Torque [Nm]`"),
        (_reading(TORQUE, -1.0), "Expected `float` >= 0.0 - at `$.Torque [Nm]`"),
        (_reading(TORQUE, 1e39), "Expected `float` <= 1000.0 - at `$.Torque [Nm]`"),
        (_reading(ROTATIONAL_SPEED, -5), "at `$.Rotational speed [rpm]`"),
        (_reading(TOOL_WEAR, -2), "Expected `float` >= 0.0 - at `$.Tool wear [min]`"),
        (_reading(AIR_TEMPERATURE, 249.9), "Expected `float` >= 250.0"),
        (_reading(PROCESS_TEMPERATURE, 400.5), "Expected `float` <= 400.0"),
        (_reading(TYPE, "X"), "Invalid enum value 'X' - at `$.Type`"),
        (_reading(UDI, 0), "Expected `int` >= 1 - at `$.UDI`"),
        (_reading(UDI, -4), "Expected `int` >= 1 - at `$.UDI`"),
        (_reading(UDI, 3.5), "Expected `int`, got `float` - at `$.UDI`"),
        (_reading(UDI, "7"), "Expected `int`, got `str` - at `$.UDI`"),
        (_reading(UDI, 2**63), "Expected `int` <= 9223372036854775807 - at `$.UDI`"),
        (_reading(UDI, 10**20), "at `$.UDI`"),
        (_reading(PRODUCT_ID, ""), "Expected `str` of length >= 1 - at `$.Product ID`"),
        (_reading(PRODUCT_ID, "   "), "Product ID must be printable and not blank"),
        (
            _reading(PRODUCT_ID, "L\u0000"),
            'Product ID must be printable and not blank, got "L\\u0000"',
        ),
        (_reading(PRODUCT_ID, "L\n1"), "Product ID must be printable and not blank"),
        (_reading(PRODUCT_ID, "L" * 65), "Expected `str` of length <= 64"),
        (_with(PRODUCT_ID, '"\\ud800"'), "body is not valid JSON"),
        (_with(PRODUCT_ID, "[" * 1000 + "]" * 1000), "Expected `str`, got `array`"),
        (_with(UDI, "9" * 5000), "Integer value out of range - at `$.UDI`"),
        (_with(TORQUE, "1" + "0" * 400), "Number out of range - at `$.Torque [Nm]`"),
        (_with(TORQUE, "NaN"), "body is not valid JSON"),
        (_with(TORQUE, "Infinity"), "body is not valid JSON"),
        (_with(TORQUE, "1e999"), "at `$.Torque [Nm]`"),
    ],
)
def test_bad_readings_are_rejected_with_a_specific_reason(body, reason):
    outcome = clean_reading(body)
    assert outcome.line is None and outcome.udi is None
    assert reason in outcome.reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({**STATUS, "Target": 2}, "Invalid enum value 2 - at `$.Target`"),
        ({**STATUS, "Target": 1.0}, "Expected `int`, got `float` - at `$.Target`"),
        ({**STATUS, "Target": True}, "Expected `int`, got `bool` - at `$.Target`"),
        ({**STATUS, "Failure Type": "Gremlins"}, "Invalid enum value 'Gremlins'"),
        ({"UDI": 7, "Target": 0}, "Object missing required field `Failure Type`"),
        ({**STATUS, "UDI": 2**63}, "Expected `int` <= 9223372036854775807 - at `$.UDI`"),
    ],
)
def test_bad_statuses_are_rejected_with_a_specific_reason(status, reason):
    outcome = clean_status(json.dumps(status).encode())
    assert outcome.line is None
    assert reason in outcome.reason


def test_the_bounds_are_the_documented_ones():
    assert MAX_UDI == 2**63 - 1 and MAX_PRODUCT_ID_CHARS == 64 and MAX_BODY_BYTES == 65536
    assert PHYSICAL_RANGES == {
        AIR_TEMPERATURE: (250.0, 400.0),
        PROCESS_TEMPERATURE: (250.0, 400.0),
        ROTATIONAL_SPEED: (0.0, 20_000.0),
        TORQUE: (0.0, 1_000.0),
        TOOL_WEAR: (0.0, 100_000.0),
    }
    edge = {**READING, UDI: MAX_UDI, PRODUCT_ID: "é" * 64, TORQUE: 1000, TOOL_WEAR: 100_000}
    assert clean_reading(json.dumps(edge).encode()).line == PYTHON_FORM.encode(edge).encode()


def test_simulated_messages_are_all_stored_in_the_form_the_stores_always_wrote(sample_records):
    for rec in sample_records:
        reading, status = reading_of(rec), status_of(rec)
        canonical = {k: int(v) if isinstance(v, float) and v.is_integer() else v
                     for k, v in reading.items()}  # fmt: skip
        assert clean_reading(json.dumps(reading).encode()).line == (
            PYTHON_FORM.encode(canonical).encode()
        )
        assert clean_status(json.dumps(status).encode()).line == PYTHON_FORM.encode(status).encode()


@pytest.mark.parametrize("spelling", ["40", "40.0", "4e1", "40.000"])
def test_integral_numbers_have_one_form_whatever_their_spelling(spelling):
    line = clean_reading(_with(TORQUE, spelling)).line
    assert json.loads(line)[TORQUE] == 40 and b'"Torque [Nm]":40,' in line


@pytest.mark.parametrize("value", [1e-05, 2.5e-05, 0.0001, 40.5, 123.456])
def test_small_and_fractional_numbers_keep_the_form_python_writes(value):
    line = clean_reading(_reading(TORQUE, value)).line
    assert line == PYTHON_FORM.encode({**READING, TORQUE: value}).encode()
