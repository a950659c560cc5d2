"""A trained forest as plain numpy arrays, which scores without scikit-learn.

A pickled pipeline cannot be loaded without importing scikit-learn's forests, about 0.8 s (they
import SciPy), and every deployment paid that before it scored its first reading. So the
registry keeps beside each pickle its trees, calibration and threshold as arrays in an `.npz`
file, read with `allow_pickle=False`: loading it runs no code. `ArrayForest` scores from them
what the pipeline scores; `tests/unit/model/test_array_forest.py` holds the two equal on the
reference data.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd

from mlops_demo.core.model import platt
from mlops_demo.core.model.features import FEATURE_COLUMNS, model_inputs

# 2: the calibration's sigmoid reads the log-odds of the forest's score (`platt.py`).
ARRAYS_FORMAT = 2
# Rows scored at once: the walk keeps a node per row and tree, so this bounds its memory.
ROWS_PER_CHUNK = 20_000


class ArrayFormatError(ValueError):
    """The bytes are not arrays of this format: written by another version, or damaged."""


def arrays_of(model: object) -> bytes | None:
    """The `.npz` bytes of a pipeline of `model_inputs` and a `CalibratedForest`; None for any
    other model, which then scores only through its pickle."""
    # Only training registers models, and it has imported scikit-learn already.
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from mlops_demo.core.model.calibration import CalibratedForest

    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    (_, inputs), (_, classifier) = model.steps
    if not (
        isinstance(inputs, FunctionTransformer)
        and inputs.func is model_inputs
        and isinstance(classifier, CalibratedForest)
        and list(classifier.classes_) == [0, 1]
    ):
        return None
    forest = classifier.forest_
    buffer = io.BytesIO()
    np.savez(
        buffer,
        format=np.array(ARRAYS_FORMAT),
        features=np.array([str(name) for name in forest.feature_names_in_]),
        **_flattened([tree.tree_ for tree in forest.estimators_]),
        calibration=np.array(
            [classifier.calibrator_.coef_[0, 0], classifier.calibrator_.intercept_[0]]
        ),
        decision_threshold=np.array(classifier.threshold_),
    )
    return buffer.getvalue()


def _flattened(trees: list) -> dict[str, np.ndarray]:
    """Every tree's nodes in one set of arrays, each tree's root at its offset. A leaf's
    children are itself, so a walk that reaches it stays there."""
    parts: dict[str, list[np.ndarray]] = {
        "roots": [],
        "left": [],
        "right": [],
        "feature": [],
        "threshold": [],
        "missing_left": [],
        "failure_share": [],
    }
    offset = 0
    for tree in trees:
        nodes = np.arange(tree.node_count) + offset
        leaf = tree.children_left < 0
        value = tree.value[:, 0, :]
        total = value.sum(axis=1)
        parts["roots"].append(np.array([offset]))
        parts["left"].append(np.where(leaf, nodes, tree.children_left + offset))
        parts["right"].append(np.where(leaf, nodes, tree.children_right + offset))
        parts["feature"].append(np.where(leaf, -1, tree.feature))
        parts["threshold"].append(tree.threshold)
        parts["missing_left"].append(tree.missing_go_to_left.astype(bool))
        # As scikit-learn's tree: the class shares of the leaf's training rows.
        parts["failure_share"].append(value[:, 1] / np.where(total == 0, 1.0, total))
        offset += tree.node_count
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}


class ArrayForest:
    """Scores readings as the registered pipeline does: its inputs, the mean of the trees'
    failure shares, Platt's sigmoid and the decision threshold."""

    def __init__(self, data: bytes):
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                found = int(arrays["format"])
                if found != ARRAYS_FORMAT:
                    raise ArrayFormatError(f"arrays format {found}, expected {ARRAYS_FORMAT}")
                self.features = [str(name) for name in arrays["features"]]
                self.roots = arrays["roots"].astype(np.intp)
                self.left = arrays["left"].astype(np.intp)
                self.right = arrays["right"].astype(np.intp)
                self.feature = arrays["feature"].astype(np.intp)
                self.threshold = arrays["threshold"]
                self.missing_left = arrays["missing_left"]
                self.failure_share = arrays["failure_share"]
                self.slope, self.intercept = (float(v) for v in arrays["calibration"])
                self.threshold_ = float(arrays["decision_threshold"])
        except (KeyError, OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
            raise ArrayFormatError(f"{type(exc).__name__}: {exc}") from None

    def predict_proba(self, readings: pd.DataFrame) -> np.ndarray:
        """Healthy and failure probabilities, a row per reading, as the pipeline's."""
        inputs = model_inputs(readings[list(FEATURE_COLUMNS)])[self.features]
        # scikit-learn's trees compare float32 inputs with float64 thresholds: so does this.
        values = inputs.to_numpy(dtype=np.float64).astype(np.float32)
        scores = np.concatenate(
            [
                self._forest_scores(values[start : start + ROWS_PER_CHUNK])
                for start in range(0, len(values), ROWS_PER_CHUNK)
            ]
            or [np.empty(0)]
        )
        failure = platt.probability(scores, self.slope, self.intercept)
        return np.column_stack([1 - failure, failure])

    def predict(self, readings: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(readings)[:, 1] >= self.threshold_).astype(int)

    def _forest_scores(self, values: np.ndarray) -> np.ndarray:
        """The mean failure share of the leaves the rows reach, every tree walked at once: each
        step moves the (row, tree) pairs not yet at a leaf one level down."""
        rows, trees = len(values), len(self.roots)
        node = np.tile(self.roots, rows)
        row = np.repeat(np.arange(rows), trees)
        walking = np.flatnonzero(self.feature[node] >= 0)
        while walking.size:
            at = node[walking]
            value = values[row[walking], self.feature[at]]
            go_left = np.where(np.isnan(value), self.missing_left[at], value <= self.threshold[at])
            node[walking] = np.where(go_left, self.left[at], self.right[at])
            walking = walking[self.feature[node[walking]] >= 0]
        return self.failure_share[node].reshape(rows, trees).mean(axis=1)
