"""Frames as JSON documents: exact round trips, Table Schema JSON for other dtypes and for
files written by it, and a clear refusal of anything else."""

from io import StringIO

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.storage.frames import frame_bytes, frame_of


def test_a_frame_of_numbers_booleans_and_text_comes_back_exactly():
    frame = pd.DataFrame(simulate(200))
    frame["ratio"] = np.random.default_rng(0).random(len(frame)) / 3  # 17 significant digits
    frame.loc[3, "ratio"] = np.nan
    frame["flagged"] = frame["ratio"] > 0.1
    frame.loc[5, "Type"] = None
    data = frame_bytes(frame)
    assert b'"schema"' not in data
    back = frame_of(data)
    pd.testing.assert_frame_equal(back, frame)
    table = pd.read_json(StringIO(frame.to_json(orient="table", index=False)), orient="table")
    assert not table["ratio"].equals(frame["ratio"])  # Table Schema JSON keeps ten digits


def test_no_rows_and_no_columns_come_back_as_they_were():
    empty = pd.DataFrame({"UDI": pd.Series([], dtype="int64")})
    pd.testing.assert_frame_equal(frame_of(frame_bytes(empty)), empty)
    rows_only = pd.DataFrame(index=range(4))
    assert frame_of(frame_bytes(rows_only)).shape == (4, 0)


def test_other_dtypes_go_as_table_schema_json_and_such_files_still_load():
    frame = pd.DataFrame({"UDI": [1, 2], "kind": ["L", "M"]}).astype({"kind": "category"})
    data = frame_bytes(frame)
    assert b'"schema"' in data
    pd.testing.assert_frame_equal(frame_of(data), frame)
    plain = pd.DataFrame({"UDI": [1, 2], "Type": ["L", "M"]})
    written_as_tables = plain.to_json(orient="table", index=False).encode()
    pd.testing.assert_frame_equal(frame_of(written_as_tables), plain)


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04\x95 a pickle",
        b'{"rows": 1, "columns": ["a"], "dtypes": ["object"], "values": [[1]]}',
        b'{"rows": 1, "columns": ["a", "b"], "dtypes": ["int64"], "values": [[1]]}',
        b'{"columns": ["a"]}',
        b"[1, 2]",
    ],
)
def test_anything_else_is_refused(data):
    with pytest.raises((ValueError, KeyError, TypeError)):
        frame_of(data)
