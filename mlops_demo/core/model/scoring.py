"""Scoring: each reading's calibrated failure probability, verdict, likely failure mode, margin
and the crew's action, riskiest first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import PRODUCT_ID
from mlops_demo.core.model.features import FEATURE_COLUMNS, ID_COLUMN
from mlops_demo.core.plant import physics


def failure_probability(model, readings: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(readings[list(FEATURE_COLUMNS)])[:, 1]


def score(model, readings: pd.DataFrame, capacity: int | None = None) -> pd.DataFrame:
    """The readings with their failure probability, verdict and likely failure mode, its margin
    and the crew's action, riskiest first. With a `capacity`, only that many of the machines the
    model flags, the riskiest, stay at risk: a crew visits no more in a day; `over_threshold`
    keeps the model's own verdict."""
    columns = [ID_COLUMN, PRODUCT_ID]
    if readings.empty:
        return readings[columns].assign(
            failure_probability=pd.Series(dtype=float),
            at_risk=pd.Series(dtype=bool),
            over_threshold=pd.Series(dtype=bool),
            **{column: pd.Series(dtype=object) for column in physics.EXPLANATION_COLUMNS},
        )
    scored = readings[columns].copy()
    scored["failure_probability"] = failure_probability(model, readings).round(4)
    scored["at_risk"] = model.predict(readings[list(FEATURE_COLUMNS)]).astype(bool)
    scored = pd.concat([scored, physics.explain(readings)], axis=1)
    scored = scored.sort_values(
        ["failure_probability", ID_COLUMN], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    scored["over_threshold"] = scored["at_risk"]
    if capacity is not None:
        scored["at_risk"] &= scored["at_risk"].cumsum() <= capacity
    return scored
