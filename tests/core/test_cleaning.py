"""Cleaning rules: every kind of bad input gets a specific reason; good input passes unchanged."""

import json

import pytest

from mlops_demo.core.cleaning import MAX_BODY_BYTES, clean, validate_reading, validate_status
from mlops_demo.core.records import (
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
from mlops_demo.core.simulator import simulate

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

_DROP = object()


def _reading(field: str, value) -> bytes:
    obj = dict(READING)
    if value is _DROP:
        obj.pop(field)
    else:
        obj[field] = value
    return json.dumps(obj).encode()


def test_a_good_reading_and_status_pass_unchanged():
    assert clean(json.dumps(READING).encode(), validate_reading).record == READING
    assert clean(json.dumps(STATUS).encode(), validate_status).record == STATUS


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "body is a JSON list, not an object"),
        (b'"text"', "body is a JSON str, not an object"),
        (b"\xff\xfe{}", "body is not valid UTF-8"),
        (b" " * (MAX_BODY_BYTES + 1), "over the 65536-byte limit"),
        (_reading(TORQUE, _DROP), "missing fields: Torque [Nm]"),
        (json.dumps({**READING, "extra": 1}).encode(), "unexpected fields: extra"),
        (_reading(TORQUE, "42"), 'Torque [Nm] must be a number, got "42"'),
        (_reading(TORQUE, True), "Torque [Nm] must be a number, got true"),
        (_reading(TORQUE, None), "Torque [Nm] must be a number, got null"),
        (_reading(TORQUE, -1.0), "Torque [Nm] cannot be negative, got -1.0"),
        (_reading(ROTATIONAL_SPEED, -5), "Rotational speed [rpm] cannot be negative"),
        (_reading(TOOL_WEAR, -2), "Tool wear [min] cannot be negative"),
        (_reading(AIR_TEMPERATURE, 249.9), "outside the physical range 250-400 K"),
        (_reading(PROCESS_TEMPERATURE, 400.5), "outside the physical range 250-400 K"),
        (_reading(TYPE, "X"), 'unknown Type "X"; expected one of L, M, H'),
        (_reading(UDI, 0), "UDI must be a positive integer, got 0"),
        (_reading(UDI, -4), "UDI must be a positive integer, got -4"),
        (_reading(UDI, 3.5), "UDI must be a positive integer, got 3.5"),
        (_reading(UDI, "7"), 'UDI must be a positive integer, got "7"'),
        (_reading(PRODUCT_ID, ""), "Product ID must be a non-empty string"),
        (
            json.dumps(READING).replace("42.8", "NaN").encode(),
            "body holds NaN, which is not a finite number",
        ),
        (
            json.dumps(READING).replace("42.8", "Infinity").encode(),
            "body holds Infinity, which is not a finite number",
        ),
        (
            json.dumps(READING).replace("42.8", "1e999").encode(),
            "Torque [Nm] must be finite, got inf",
        ),
    ],
)
def test_bad_readings_are_rejected_with_a_specific_reason(body, reason):
    outcome = clean(body, validate_reading)
    assert outcome.record is None
    assert reason in outcome.reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({**STATUS, "Target": 2}, "Target must be 0 or 1, got 2"),
        ({**STATUS, "Target": 1.0}, "Target must be 0 or 1, got 1.0"),
        ({**STATUS, "Target": True}, "Target must be 0 or 1, got true"),
        ({**STATUS, "Failure Type": "Gremlins"}, 'unknown Failure Type "Gremlins"'),
        ({"UDI": 7, "Target": 0}, "missing fields: Failure Type"),
    ],
)
def test_bad_statuses_are_rejected_with_a_specific_reason(status, reason):
    outcome = clean(json.dumps(status).encode(), validate_status)
    assert outcome.record is None
    assert reason in outcome.reason


def test_simulated_messages_are_all_valid(sample_records):
    for rec in sample_records:
        assert clean(json.dumps(reading_of(rec)).encode(), validate_reading).reason is None
        assert clean(json.dumps(status_of(rec)).encode(), validate_status).reason is None


def test_integral_numbers_have_one_form_whatever_their_spelling():
    body = json.dumps({**reading_of(simulate(1)[0]), TORQUE: 40})
    forms = [
        validate_reading(json.loads(body.replace('"Torque [Nm]": 40', f'"Torque [Nm]": {n}')))
        for n in ("40", "40.0", "4e1")
    ]
    assert forms[0] == forms[1] == forms[2]
    assert all(type(form[TORQUE]) is int for form in forms)
    assert validate_reading({**json.loads(body), TORQUE: 40.5})[TORQUE] == 40.5
