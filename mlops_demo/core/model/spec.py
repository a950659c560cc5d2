"""How a model is made and what is known of it, with neither pandas nor scikit-learn: the
hyperparameters it trains with, and the summary the registry keeps in each entry.

Apart from `modelling.py` because every run imports these (the Launchpad's training config is
made from the hyperparameters, and the registry's entries are summaries), while only the runs
that train or score need modelling's pandas.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hyperparameters:
    """The random forest's hyperparameters; the decision threshold is tuned during training."""

    n_estimators: int = 100
    min_samples_leaf: int = 1
    # Every input at every split: with a share, most trees never test whether a limit is
    # breached, and a mode seen a few times in training is missed when it comes in numbers.
    max_features: float = 1.0
    # Each tree's bootstrap sample holds at most this many rows: past it, a tree learns no more
    # (bench/rows_per_tree.py, seven folds: F1 within 0.002 of that of 10,000 rows per tree and
    # of all rows, on the reference data and on 100,000 simulated rows) and the fits take 0.29x
    # the time they take at 10,000.
    max_rows_per_tree: int = 2_000
    random_state: int = 0


@dataclass(frozen=True)
class TrainingSummary:
    """What is known of a trained model besides its bytes: the registry keeps it in each entry."""

    metrics: dict[str, float]
    confusion_matrix: list[list[int]]
    hyperparameters: dict[str, float]
    training_rows: int
    test_rows: int
    training_seconds: float
    features: list[str]
    # The newest UDI the model trained on: a held-out window starts after it.
    trained_through_udi: int
    # The oldest: a retrain never learns from before the champion's own start (after a change of
    # the plant, that is the change).
    trained_from_udi: int
    # Each feature's kind and the values it was trained on: numbers' range, categories' set.
    signature: dict[str, dict]
    # Forward-chained evaluation, calibration and the crew's operating point (core/evaluation).
    evaluation: dict
    calibrated_on: str
