"""Platt's sigmoid as both scorers apply it: the pickled `CalibratedForest` and the registry's
numpy `ArrayForest`, which must not import scikit-learn.

The sigmoid reads the log-odds of the forest's score, not the score itself. A forest's score is
a share of trees, and a sigmoid of the share is too flat near 0: on the simulator it gave the
readings a few trees call failing (scores 0.01-0.05) a fifth of the failures they had, so the
morning's estimate missed those failures and ran 0.03 high in F1. On the log-odds the same two
parameters fit both ends (`bench/estimate.py`, `docs/monitoring.md`); ranking, and so the
threshold's F1, is unchanged.
"""

import numpy as np

# Half of one tree's vote in a forest of the default 100 trees: a score of 0 or 1 stays finite.
_HALF_A_VOTE = 0.005


def log_odds(scores: np.ndarray) -> np.ndarray:
    """The sigmoid's input for forest scores in [0, 1]."""
    scores = np.asarray(scores, dtype=float)
    return np.log((scores + _HALF_A_VOTE) / (1 + _HALF_A_VOTE - scores))


def probability(scores: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """The calibrated failure probability of each forest score."""
    return 1.0 / (1.0 + np.exp(-(slope * log_odds(scores) + intercept)))
