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

from mlops_demo.core import broker
from mlops_demo.core.cleaning import clean, validate_reading
from mlops_demo.core.records import (
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
from mlops_demo.defs.ingestion import readings_ingestion
from mlops_demo.defs.resources import RabbitMQResource, StoreResource

pytestmark = pytest.mark.broker
PUBLISHED: list[int] = []

finite = st.floats(allow_nan=False, allow_infinity=False)
valid_readings = st.fixed_dictionaries(
    {
        UDI: st.integers(1, 3000),
        PRODUCT_ID: st.text(min_size=1, max_size=8).filter(str.strip),
        TYPE: st.sampled_from(PRODUCT_TYPES),
        AIR_TEMPERATURE: st.floats(250, 400),
        PROCESS_TEMPERATURE: st.floats(250, 400),
        ROTATIONAL_SPEED: st.integers(0, 3000),
        TORQUE: st.floats(0, 100),
        TOOL_WEAR: st.integers(0, 300),
    }
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
damaged_readings = st.tuples(valid_readings, st.sampled_from(READING_FIELDS), json_values).map(
    lambda t: {**t[0], t[1]: t[2]}
)
bodies = st.one_of(
    valid_readings.map(lambda obj: json.dumps(obj).encode()),
    damaged_readings.map(lambda obj: json.dumps(obj).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
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
@given(messages=st.lists(bodies, min_size=100, max_size=250))
def test_every_body_is_stored_once_or_quarantined_with_its_reason(messages, broker_url, tmp_path):
    PUBLISHED.append(len(messages))
    data_dir = tmp_path / uuid.uuid4().hex
    queue = f"test_{uuid.uuid4().hex[:10]}_volume"
    resources = {
        "rabbitmq": RabbitMQResource(url=broker_url, readings_queue=queue),
        "store": StoreResource(data_dir=str(data_dir)),
    }
    try:
        assert broker.publish(broker_url, queue, messages) == len(messages)
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                list(readings_ingestion.assets),
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
    for body in messages:
        outcome = clean(body, validate_reading)
        digest = hashlib.sha256(body).hexdigest()
        if outcome.record is None:
            assert quarantined.get(digest) == outcome.reason
            continue
        udi = outcome.record[UDI]
        first = first_content.setdefault(udi, outcome.record)
        if outcome.record == first:
            assert stored[udi] == json.loads(body), "a valid reading was changed on the way"
        else:
            assert quarantined.get(digest) == f"UDI {udi} is already stored with different content"


def test_the_property_test_published_thousands():
    assert sum(PUBLISHED) >= 2000, f"only {sum(PUBLISHED)} bodies were generated"
