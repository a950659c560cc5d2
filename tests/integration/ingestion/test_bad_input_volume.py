"""Thousands of generated bodies, valid and invalid mixed, through the real broker and job: every
one ends in the store or in quarantine with its reason, and valid ones are stored unchanged.

Twenty examples of 100 to 250 bodies each (Hypothesis caps how much one example may generate).
"""

import hashlib
import json
import uuid

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    PRODUCT_ID,
    PRODUCT_TYPES,
    READING_FIELDS,
    ROTATIONAL_SPEED,
    TOOL_WEAR,
    TORQUE,
    TYPE,
    UDI,
)
from mlops_demo.core.messages.streams import READINGS
from mlops_demo.core.transport import broker
from mlops_demo.defs.ingestion.assets import READINGS_NAMES, stream_ingestion
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.resources import CodeLocationSettings, RabbitMQResource, StorageResource

pytestmark = pytest.mark.broker
PUBLISHED: list[int] = []

# Every body is generated with what must become of it, decided here by construction and never
# by the product's cleaning code: ("valid", the reading) or ("rejected", a fragment of the reason).
valid_readings = st.fixed_dictionaries(
    {
        UDI: st.integers(1, 300),
        PRODUCT_ID: st.text(alphabet="LMH0123456789", min_size=1, max_size=8),
        TYPE: st.sampled_from(PRODUCT_TYPES),
        AIR_TEMPERATURE: st.floats(250, 400),
        PROCESS_TEMPERATURE: st.floats(250, 400),
        ROTATIONAL_SPEED: st.integers(0, 3000),
        TORQUE: st.floats(0, 100),
        TOOL_WEAR: st.integers(0, 300),
    }
)
NUMBERS = (AIR_TEMPERATURE, PROCESS_TEMPERATURE, ROTATIONAL_SPEED, TORQUE, TOOL_WEAR)
DAMAGES = {
    "missing": lambda r, f: (
        {k: v for k, v in r.items() if k != f},
        f"Object missing required field `{f}`",
    ),
    "unexpected": lambda r, f: ({**r, "Colour": "red"}, "Object contains unknown field `Colour`"),
    "not a number": lambda r, f: ({**r, f: "high"}, f"Expected `float`, got `str` - at `$.{f}`"),
    "negative": lambda r, f: ({**r, f: -5}, None),
    "unknown type": lambda r, f: ({**r, TYPE: "X"}, "Invalid enum value 'X' - at `$.Type`"),
}


def _damage(reading: dict, kind: str, field: str) -> tuple[dict, str]:
    if kind in ("missing", "not a number", "negative"):
        field = field if kind == "missing" else NUMBERS[READING_FIELDS.index(field) % len(NUMBERS)]
    damaged, reason = DAMAGES[kind](reading, field)
    if kind == "negative":
        low = "250.0" if field in (AIR_TEMPERATURE, PROCESS_TEMPERATURE) else "0.0"
        reason = f"Expected `float` >= {low} - at `$.{field}`"
    return damaged, reason


def _spelled(field: str, raw: str) -> bytes:
    """A valid reading with one field's value spelled exactly as `raw`."""
    reading = {**SEED, field: "__here__"}
    return json.dumps(reading).replace('"__here__"', raw).encode()


SEED = {
    UDI: 1,
    PRODUCT_ID: "L1",
    TYPE: "L",
    AIR_TEMPERATURE: 300.0,
    PROCESS_TEMPERATURE: 310.0,
    ROTATIONAL_SPEED: 1500,
    TORQUE: 40.0,
    TOOL_WEAR: 10,
}
# Bodies that once stopped a stream for good: each now has its reason like any other.
HOSTILE = [
    (_spelled(PRODUCT_ID, "[" * 1000 + "]" * 1000), "rejected", "Expected `str`, got `array`"),
    (_spelled(UDI, "9" * 5000), "rejected", "Integer value out of range - at `$.UDI`"),
    (_spelled(TORQUE, "1" + "0" * 400), "rejected", "Number out of range - at `$.Torque [Nm]`"),
    (_spelled(PRODUCT_ID, '"\\ud800"'), "rejected", "body is not valid JSON"),
    (_spelled(PRODUCT_ID, '"L\\u0000"'), "rejected", "Product ID must be printable"),
    (_spelled(UDI, str(2**63)), "rejected", "Expected `int` <= 9223372036854775807"),
    (_spelled(UDI, "100000000000000000000"), "rejected", "Expected `int` <= 9223372036854775807"),
    (_spelled(TORQUE, "1e39"), "rejected", "Expected `float` <= 1000.0 - at `$.Torque [Nm]`"),
]

labelled_bodies = st.one_of(
    valid_readings.map(lambda r: (json.dumps(r).encode(), "valid", r)),
    st.tuples(valid_readings, st.sampled_from(sorted(DAMAGES)), st.sampled_from(READING_FIELDS))
    .map(lambda t: _damage(*t))
    .map(lambda d: (json.dumps(d[0]).encode(), "rejected", d[1])),
    st.sampled_from(
        [
            (b"{not json", "rejected", "body is not valid JSON"),
            (b"\xff\xfe", "rejected", "body is not valid UTF-8"),
            (b"[1, 2]", "rejected", "Expected `object`, got `array`"),
            (b"NaN", "rejected", "body is not valid JSON"),
            *HOSTILE,
        ]
    ),
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.too_slow,
    ],
)
@given(labelled=st.lists(labelled_bodies, min_size=100, max_size=250))
def _stored_once_or_quarantined(labelled, broker_url, tmp_path):
    messages = [body for body, _, _ in labelled]
    PUBLISHED.append(len(messages))
    data_dir = tmp_path / uuid.uuid4().hex
    queue = f"test_{uuid.uuid4().hex[:10]}_volume"
    resources = {
        "rabbitmq": RabbitMQResource(broker_url=broker_url, readings_queue=queue),
        "storage": StorageResource(
            data_dir=str(data_dir), registry_key_file=str(data_dir / "registry.key")
        ),
        "ingestion_settings": IngestionSettings(),
    }
    try:
        assert broker.publish(broker_url, queue, messages) == len(messages)
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                list(
                    stream_ingestion(
                        READINGS, READINGS_NAMES, CodeLocationSettings(), "jsonl"
                    ).assets
                ),
                instance=instance,
                resources=resources,
            )
    finally:
        broker.delete_queue(broker_url, queue)
    assert result.success
    stored = {}
    for line in (data_dir / "cleaned_readings.jsonl").read_bytes().splitlines() if (
        data_dir / "cleaned_readings.jsonl").exists() else []:  # fmt: skip
        record = json.loads(line)
        assert record[UDI] not in stored, "a UDI was stored twice"
        stored[record[UDI]] = record
    quarantine_path = data_dir / "quarantined_readings.jsonl"
    quarantined = {}
    if quarantine_path.exists():
        for line in quarantine_path.read_bytes().splitlines():
            entry = json.loads(line)
            assert entry["reason"]
            quarantined[entry["body_sha256"]] = entry["reason"]

    first_content: dict[int, dict] = {}
    for body, fate, expected in labelled:
        reason = quarantined.get(hashlib.sha256(body).hexdigest())
        if fate == "rejected":
            assert reason is not None and expected in reason, (body[:200], reason, expected)
            continue
        first = first_content.setdefault(expected[UDI], expected)
        if expected == first:
            assert stored[expected[UDI]] == expected, "a valid reading was changed on the way"
        else:
            assert reason == f"UDI {expected[UDI]} is already stored with different content"
    assert len(stored) == len(first_content)


def test_every_body_is_stored_once_or_quarantined_with_its_reason(broker_url, tmp_path):
    """Hypothesis's examples, then how many bodies they published: the property is only as
    strong as the volume behind it."""
    PUBLISHED.clear()
    _stored_once_or_quarantined(broker_url=broker_url, tmp_path=tmp_path)
    assert sum(PUBLISHED) >= 2000, f"only {sum(PUBLISHED)} bodies were generated"
