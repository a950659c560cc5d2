"""The scikit-learn pipeline: the model's inputs, then the calibrated forest.

The pipeline takes the raw reading columns, so a pickled model scores a reading as it arrives;
the physics features are derived inside it. scikit-learn is imported inside the function: it
takes about a second, and only training needs it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from mlops_demo.core.model.features import model_inputs
from mlops_demo.core.model.spec import Hyperparameters

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


def build_pipeline(params: Hyperparameters) -> Pipeline:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from mlops_demo.core.model.calibration import CalibratedForest

    forest_params = {k: v for k, v in asdict(params).items() if k != "max_rows_per_tree"}
    forest = RandomForestClassifier(**forest_params, n_jobs=-1)
    return Pipeline(
        [
            ("model_inputs", FunctionTransformer(model_inputs)),
            ("classifier", CalibratedForest(forest, max_rows_per_tree=params.max_rows_per_tree)),
        ]
    )
