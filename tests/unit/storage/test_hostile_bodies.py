"""Arbitrary JSON and arbitrary bytes through the JSONL store's landing and storing path: every
body ends stored unchanged or quarantined with a reason, nothing raises, and the next valid
reading is stored. No broker: the broker only carries bytes (the job-level sample is
tests/integration/ingestion/test_bad_input_volume.py; the PostgreSQL store's run is
tests/integration/storage/test_hostile_bodies_postgres.py).

100 examples of 50 bodies: 5,000 bodies a run.
"""

import hashlib
import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_demo.core.messages.cleaning import clean_reading
from mlops_demo.core.messages.records import READING_FIELDS, UDI
from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.landing import LandingArea

VALID = {
    UDI: 1,
    "Product ID": "L1",
    "Type": "L",
    "Air temperature [K]": 300.0,
    "Process temperature [K]": 310.0,
    "Rotational speed [rpm]": 1500,
    "Torque [Nm]": 40.5,
    "Tool wear [min]": 10,
}
NEXT_UDI = 8_123_456_789_012_345_677  # a UDI no strategy below is drawn to

# Any JSON value: numbers of any size, strings with any code point (lone surrogates and control
# characters included, written as escapes), nesting of any depth within Hypothesis's budget.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec=None)),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# A valid reading with one field replaced by anything, a key added, or a field dropped: the
# bodies that come closest to being stored.
near_misses = st.builds(
    lambda field, value, drop: {
        **{k: v for k, v in VALID.items() if not (drop and k == field)},
        **({} if drop else {field: value}),
    },
    st.sampled_from([*READING_FIELDS, "Colour"]),
    json_values,
    st.booleans(),
)
deep = st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n)
spelled = st.tuples(st.sampled_from(READING_FIELDS), st.sampled_from(
    ["9" * 5000, "1" + "0" * 400, "1e400", '"\\ud800"', '"a\\u0000b"', str(2**63), "-0", "1e-7"]
))  # fmt: skip


def _spell(field: str, raw: str) -> bytes:
    return json.dumps({**VALID, field: "__here__"}).replace('"__here__"', raw).encode()


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    near_misses.map(lambda v: json.dumps(v).encode()),
    deep.map(str.encode),
    spelled.map(lambda t: _spell(*t)),
    st.binary(max_size=200),
)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _same(sent, stored) -> bool:
    """The stored record says what the body said: the same keys, the same values (40 == 40.0)."""
    if isinstance(sent, dict):
        return (
            isinstance(stored, dict)
            and sent.keys() == stored.keys()
            and all(_same(sent[k], stored[k]) for k in sent)
        )
    if isinstance(sent, (int, float)) and not isinstance(sent, bool):
        return isinstance(stored, (int, float)) and math.isclose(sent, stored, rel_tol=0)
    return sent == stored


def _check(store, landing: LandingArea, batch: list[bytes]) -> None:
    landing.land(batch)
    counts = store.ingest(landing, clean_reading)
    assert counts.received == len(batch)
    assert counts.stored + counts.duplicates + counts.quarantined == len(batch)
    stored = _stored(store)
    reasons = {entry["body_sha256"]: entry["reason"] for entry in store.quarantined()}
    for body in batch:
        digest = hashlib.sha256(body).hexdigest()
        if digest in reasons:
            assert reasons[digest], "quarantined without a reason"
            continue
        sent = json.loads(body)
        assert _same(sent, stored[sent[UDI]]), (body, stored[sent[UDI]])
    store.ingest(landing, clean_reading)  # replaying stores nothing twice
    after = {**VALID, UDI: NEXT_UDI}
    landing.land([json.dumps(after).encode()])
    assert store.ingest(landing, clean_reading).stored == 1, "the next valid reading was blocked"
    assert landing.batches() == []


def _stored(store) -> dict[int, dict]:
    """Every stored record by UDI, its values as plain Python numbers and strings."""
    records = store.read_frame(READING_FIELDS).to_dict("records")
    plain = [{k: v.item() if hasattr(v, "item") else v for k, v in r.items()} for r in records]
    return {record[UDI]: record for record in plain}


@FUZZ
@given(batch=st.lists(bodies, min_size=50, max_size=50))
def test_any_body_ends_stored_or_quarantined_in_the_jsonl_store(batch):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = JsonlStore(root / "cleaned_readings.jsonl", root / "quarantined_readings.jsonl")
        _check(store, LandingArea(root / "landing"), batch)
