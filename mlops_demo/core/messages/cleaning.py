"""Cleaning rules: a raw message body becomes its one stored line, or a quarantine reason.

Each body is decoded and validated in one typed step (msgspec, against the schemas below), so
whatever a body holds, any nesting, any number size, any escape, it ends as a line or a reason,
never an exception: a number too large for its field, an array where a string belongs or a lone
surrogate are reasons like the others. The bounds are stated here once; `docs/reliability.md`
lists them.
"""

import json
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    FAILURE_TYPES,
    PROCESS_TEMPERATURE,
    PRODUCT_ID,
    PRODUCT_TYPES,
    READING_FIELDS,
    ROTATIONAL_SPEED,
    STATUS_FIELDS,
    TOOL_WEAR,
    TORQUE,
    canonical_line,
)

MAX_BODY_BYTES = 64 * 1024
# PostgreSQL's bigint and the JSONL store's UDI index both hold a signed 64-bit integer.
MAX_UDI = 2**63 - 1
MAX_PRODUCT_ID_CHARS = 64
# What a sensor of this plant can physically report. Anything outside is a broken sensor or a
# hostile message, and would break training (scikit-learn works in float32).
PHYSICAL_RANGES = {
    AIR_TEMPERATURE: (250.0, 400.0),
    PROCESS_TEMPERATURE: (250.0, 400.0),
    ROTATIONAL_SPEED: (0.0, 20_000.0),
    TORQUE: (0.0, 1_000.0),
    TOOL_WEAR: (0.0, 100_000.0),
}


def _within(field: str) -> object:
    low, high = PHYSICAL_RANGES[field]
    return Annotated[float, Meta(ge=low, le=high)]


_NUMBERS = ("air", "process", "speed", "torque", "tool_wear")
_READING_NAMES = dict(zip(("udi", "product_id", "type", *_NUMBERS), READING_FIELDS, strict=True))


class Reading(msgspec.Struct, forbid_unknown_fields=True, rename=_READING_NAMES):
    udi: Annotated[int, Meta(ge=1, le=MAX_UDI)]
    product_id: Annotated[str, Meta(min_length=1, max_length=MAX_PRODUCT_ID_CHARS)]
    type: Literal[PRODUCT_TYPES]
    air: _within(AIR_TEMPERATURE)
    process: _within(PROCESS_TEMPERATURE)
    speed: _within(ROTATIONAL_SPEED)
    torque: _within(TORQUE)
    tool_wear: _within(TOOL_WEAR)


# The stored form of a reading: the same fields, each number an int when it is integral.
_ReadingLine = msgspec.defstruct(
    "ReadingLine",
    [("udi", int), ("product_id", str), ("type", str), *[(n, int | float) for n in _NUMBERS]],
    rename=_READING_NAMES,
)


class Status(
    msgspec.Struct,
    forbid_unknown_fields=True,
    rename=dict(zip(("udi", "target", "failure_type"), STATUS_FIELDS, strict=True)),
):
    udi: Annotated[int, Meta(ge=1, le=MAX_UDI)]
    target: Literal[0, 1]
    failure_type: Literal[FAILURE_TYPES]


class Cleaned(msgspec.Struct, frozen=True):
    """The outcome for one body: its UDI and stored line, or the reason it is quarantined. (A
    Struct: built once per message, it costs a tenth of a frozen dataclass.)"""

    udi: int | None = None
    line: bytes | None = None
    reason: str | None = None


_READING, _STATUS = msgspec.json.Decoder(Reading), msgspec.json.Decoder(Status)
_ENCODER = msgspec.json.Encoder()
# msgspec writes 1e-05 as 0.00001, Python as 1e-05. The stores compare a line byte for byte
# with the lines stored before, so a reading holding so small a number keeps Python's form.
_SMALLEST_PLAIN = 1e-4


def _decode(decoder: msgspec.json.Decoder, body: bytes) -> object:
    """The typed message, or the reason it is not one."""
    if len(body) > MAX_BODY_BYTES:
        return f"body is {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit"
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        return str(exc)
    except msgspec.DecodeError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"body is not valid UTF-8 (byte {bad.start})"
        return f"body is not valid JSON: {exc}"


def _number(value: float) -> int | float:
    """One form for one number: a reading is the same whether it says 40, 40.0 or 4e1 (every
    integral float in the physical ranges is exact as an int)."""
    return int(value) if value.is_integer() else value


def clean_reading(body: bytes) -> Cleaned:
    """A reading's stored line, its fields in the schema's order, or the reason it has none."""
    reading = _decode(_READING, body)
    if not isinstance(reading, Reading):
        return Cleaned(reason=reading)
    product_id = reading.product_id
    if not product_id.isprintable() or not product_id.strip():
        shown = json.dumps(product_id)
        return Cleaned(reason=f"{PRODUCT_ID} must be printable and not blank, got {shown}")
    numbers = [
        _number(value)
        for value in (
            reading.air,
            reading.process,
            reading.speed,
            reading.torque,
            reading.tool_wear,
        )
    ]
    line = _ReadingLine(reading.udi, product_id, reading.type, *numbers)
    for number in numbers:
        if number.__class__ is float and number < _SMALLEST_PLAIN:
            return Cleaned(reading.udi, canonical_line(msgspec.to_builtins(line)))
    return Cleaned(reading.udi, _ENCODER.encode(line))


def clean_status(body: bytes) -> Cleaned:
    """A status's stored line, or the reason it has none."""
    status = _decode(_STATUS, body)
    if not isinstance(status, Status):
        return Cleaned(reason=status)
    return Cleaned(status.udi, _ENCODER.encode(status))
