"""The classifier: a random forest whose decision threshold is tuned for the failure class.

Its own module because it subclasses scikit-learn's estimators, so importing it imports
scikit-learn: only training and loading a model do (`core/modelling.py` says why that matters).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import precision_recall_curve


class OutOfBagThreshold(ClassifierMixin, BaseEstimator):
    """A random forest whose decision threshold is tuned for the failure class's F1.

    Failures are about 3 % of days, so the 0.5 threshold is not the best one. The threshold is
    picked on the forest's out-of-bag predictions, which costs no extra fit.
    """

    def __init__(self, forest: RandomForestClassifier):
        self.forest = forest

    def fit(self, X, y):
        self.forest_ = clone(self.forest).set_params(oob_score=True).fit(X, y)
        self.classes_ = self.forest_.classes_
        self.threshold_ = _best_f1_threshold(
            np.asarray(y), np.nan_to_num(self.forest_.oob_decision_function_[:, 1])
        )
        return self

    def predict_proba(self, X):
        return self.forest_.predict_proba(X)

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


def _best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(y, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))]) if len(thresholds) else 0.5
