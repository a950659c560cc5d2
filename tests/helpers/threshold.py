"""A model that needs no training: it predicts a failure when the torque is above a limit."""

import numpy as np
import pandas as pd

from mlops_demo.core.model.features import ID_COLUMN, LABEL_COLUMN
from mlops_demo.core.plant.simulator import simulate

TORQUE = "Torque [Nm]"


class TorqueAbove:
    def __init__(self, limit: float):
        self.limit = limit

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return (features[TORQUE] > self.limit).astype(int).to_numpy()

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        failing = self.predict(features).astype(float)
        return np.column_stack([1 - failing, failing])


def labelled_window(n: int = 300, first_udi: int = 1, limit: float = 50.0) -> pd.DataFrame:
    """Simulated readings labelled as failed exactly when their torque is above `limit`, so
    TorqueAbove(limit) scores F1 1 and TorqueAbove(1000) (never a failure) F1 0."""
    frame = pd.DataFrame(simulate(n))
    frame[ID_COLUMN] = range(first_udi, first_udi + n)
    frame[LABEL_COLUMN] = (frame[TORQUE] > limit).astype(int)
    return frame
