"""The forest as arrays scores what the pickled pipeline scores, without scikit-learn."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core.messages.records import READING_FIELDS
from mlops_demo.core.model import features, training
from mlops_demo.core.model.array_forest import (
    ARRAYS_FORMAT,
    ArrayForest,
    ArrayFormatError,
    arrays_of,
)
from mlops_demo.core.plant.simulator import simulate


@pytest.fixture(scope="module")
def reference_model(reference_csv):
    data = pd.read_csv(reference_csv, encoding="utf-8-sig")
    train, test = training.split_by_udi(data, 0.7)
    return training.train(train, test).model, data


def test_on_every_reference_reading_the_arrays_score_as_the_pipeline(reference_model):
    model, data = reference_model
    forest = ArrayForest(arrays_of(model))
    readings = data[list(READING_FIELDS)]
    expected = model.predict_proba(readings[list(features.FEATURE_COLUMNS)])
    np.testing.assert_allclose(forest.predict_proba(readings), expected, rtol=0, atol=1e-12)
    verdicts = forest.predict(readings)
    assert (verdicts == model.predict(readings[list(features.FEATURE_COLUMNS)])).all()
    assert 100 < verdicts.sum() < 400  # the reference data's failures, roughly: not all or none


def test_scores_a_frame_larger_than_a_chunk_and_an_empty_one(reference_model, monkeypatch):
    model, data = reference_model
    forest = ArrayForest(arrays_of(model))
    whole = forest.predict_proba(data)
    monkeypatch.setattr("mlops_demo.core.model.array_forest.ROWS_PER_CHUNK", 777)
    np.testing.assert_array_equal(forest.predict_proba(data), whole)
    assert forest.predict_proba(data.iloc[:0]).shape == (0, 2)


def test_the_simulators_readings_score_as_with_the_pipeline():
    machines = pd.DataFrame(simulate(3000))
    train, test = training.split_by_udi(machines, 0.7)
    model = training.train(train, test).model
    expected = model.predict_proba(test[list(features.FEATURE_COLUMNS)])
    got = ArrayForest(arrays_of(model)).predict_proba(test)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_a_model_of_another_kind_has_no_arrays():
    assert arrays_of({"weights": [1, 2, 3]}) is None


@pytest.mark.parametrize("damage", [b"", b"not a zip", b"PK\x03\x04 truncated"])
def test_bytes_that_are_not_arrays_are_refused_by_name(damage):
    with pytest.raises(ArrayFormatError):
        ArrayForest(damage)


class _Planted:
    """Unpickling it creates a file: the proof that a pickle ran."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_arrays_holding_a_pickle_are_refused_without_running_it(tmp_path):
    planted = tmp_path / "planted"
    buffer = tmp_path / "model.npz"
    np.savez(
        buffer, format=np.array(ARRAYS_FORMAT), features=np.array([_Planted(planted)], dtype=object)
    )
    with pytest.raises(ArrayFormatError, match="allow_pickle"):
        ArrayForest(buffer.read_bytes())
    assert not planted.exists()


def test_scoring_from_arrays_imports_neither_scikit_learn_nor_scipy(reference_model, tmp_path):
    model, data = reference_model
    (tmp_path / "model.npz").write_bytes(arrays_of(model))
    data.head(500).to_csv(tmp_path / "readings.csv", index=False)
    script = (
        "import sys, pandas as pd\n"
        "from mlops_demo.core.model.array_forest import ArrayForest\n"
        f"forest = ArrayForest(open({str(tmp_path / 'model.npz')!r}, 'rb').read())\n"
        f"forest.predict(pd.read_csv({str(tmp_path / 'readings.csv')!r}))\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'joblib') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
