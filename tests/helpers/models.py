"""A small model's training summary, for registry tests that need no real training."""

from mlops_demo.core.modelling import TrainingSummary


def summary(f1: float = 0.5) -> TrainingSummary:
    return TrainingSummary(
        metrics={"f1": f1, "precision": 0.6},
        confusion_matrix=[[90, 2], [3, 5]],
        hyperparameters={"n_estimators": 10},
        training_rows=70,
        test_rows=30,
        training_seconds=0.1,
        features=["Torque [Nm]"],
    )
