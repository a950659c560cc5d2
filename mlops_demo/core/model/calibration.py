"""The classifier: a random forest whose scores are calibrated probabilities and whose decision
threshold is tuned for the failure class.

Its own module because it subclasses scikit-learn's estimators, so importing it imports
scikit-learn: only training and loading a model do (scikit-learn adds about a second to a run's
start, `core/model/pipeline.py`).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve

from mlops_demo.core.model import platt


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(y, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))]) if len(thresholds) else 0.5


SIGMOID_INPUT = "log-odds of the forest's score"
# Fewer failures in the newest rows than this, and the forest is calibrated out of bag instead.
MIN_CALIBRATION_FAILURES = 3


class CalibratedForest(ClassifierMixin, BaseEstimator):
    """A random forest whose scores are probabilities, and its threshold for the failure F1.

    The rows come oldest first. The forest is fitted on the older part, and Platt scaling (on
    the scores' log-odds, `core/model/platt.py`) maps its scores to probabilities on the newer
    `calibration_share`, rows it never saw: calibrating on the fitted rows would learn the
    forest's overconfidence there. Where the newer part holds too few failures (or the older no
    example of both classes), the forest is fitted on every row and calibrated on its
    out-of-bag scores instead; `calibrated_on_` says which.
    """

    def __init__(
        self,
        forest: RandomForestClassifier,
        calibration_share: float = 0.25,
        max_rows_per_tree: int | None = None,
    ):
        self.forest = forest
        self.calibration_share = calibration_share
        self.max_rows_per_tree = max_rows_per_tree

    def _fit_forest(self, X, y) -> np.ndarray:
        """Fit `forest_` on the rows; returns each row's out-of-bag failure score."""
        forest = clone(self.forest).set_params(oob_score=True)
        if self.max_rows_per_tree and len(y) > self.max_rows_per_tree:
            forest.set_params(max_samples=self.max_rows_per_tree)
        # Every tree's fit sorts the labels of all the rows it is handed, drawn or not
        # (scikit-learn's np.unique), twenty times faster when they are in order: at 90,000 rows
        # that is 0.6 of a 2-second fit. Which rows each tree draws is as random in either order.
        by_label = np.argsort(y, kind="stable")
        self.forest_ = forest.fit(
            X.iloc[by_label] if hasattr(X, "iloc") else X[by_label], y[by_label]
        )
        out_of_bag = np.empty(len(y))
        out_of_bag[by_label] = np.nan_to_num(forest.oob_decision_function_[:, 1])
        # Two floats per training row that scoring never reads: left in, they would grow every
        # saved model with the rows it was trained on.
        del forest.oob_decision_function_
        return out_of_bag

    def fit(self, X, y):
        y = np.asarray(y)
        cut = round(len(y) * (1 - self.calibration_share))
        calibrated = None
        if len(set(y[:cut])) == 2 and y[cut:].sum() >= MIN_CALIBRATION_FAILURES:
            fitted = self._fit_forest(X[:cut], y[:cut])
            scores = self.forest_.predict_proba(X[cut:])[:, 1]
            self.calibrator_ = _platt(scores, y[cut:])
            # A falling sigmoid would rank the riskiest last: the window was too small to say.
            if self.calibrator_.coef_[0, 0] > 0:
                self.calibrated_on_ = f"the newest {len(y) - cut} training rows"
                calibrated = self._calibrate(np.concatenate([fitted, scores]))
        if calibrated is None:
            scores = self._fit_forest(X, y)
            self.calibrator_ = _platt(scores, y)
            self.calibrated_on_ = (
                "out-of-bag scores (the newest training rows hold too few failures to calibrate on)"
            )
            calibrated = self._calibrate(scores)
        self.classes_ = self.forest_.classes_
        self.sigmoid_input_ = SIGMOID_INPUT
        self.threshold_ = best_f1_threshold(y, calibrated)
        return self

    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        slope, intercept = self.calibrator_.coef_[0, 0], self.calibrator_.intercept_[0]
        return platt.probability(scores, slope, intercept)

    def __setstate__(self, state: dict) -> None:
        # Pickles from before the sigmoid read log-odds would load and score wrongly: refuse
        # them, as the registry refuses any model saved by another version.
        if state.get("sigmoid_input_") != SIGMOID_INPUT and "calibrator_" in state:
            raise ValueError(f"its sigmoid reads {state.get('sigmoid_input_', 'raw scores')}")
        super().__setstate__(state)

    def predict_proba(self, X):
        failure = self._calibrate(self.forest_.predict_proba(X)[:, 1])
        return np.column_stack([1 - failure, failure])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


def _platt(scores: np.ndarray, y: np.ndarray) -> LogisticRegression:
    """Platt's sigmoid with his smoothed targets: with a handful of failures the window is
    separable, and plain 0/1 targets would map every score to 0 or 1."""
    failures = int(y.sum())
    healthy = len(y) - failures
    target = np.where(y == 1, (failures + 1) / (failures + 2), 1 / (healthy + 2))
    # Rows with one score add to the likelihood as one row with their weights summed, and a
    # forest's scores take a few thousand values: the same sigmoid from far fewer rows.
    values, row_value = np.unique(scores, return_inverse=True)
    features = np.tile(platt.log_odds(values), 2).reshape(-1, 1)
    labels = np.concatenate([np.ones(len(values)), np.zeros(len(values))])
    weights = np.concatenate(
        [np.bincount(row_value, weights=target), np.bincount(row_value, weights=1 - target)]
    )
    return LogisticRegression(C=1e6).fit(features, labels, sample_weight=weights)
