"""Forward-chained evaluation: how the pipeline does on readings newer than any it trained on,
fold after fold, beside the documented rules on the same rows.

A single time split tests one stretch of the plant's life; the failure modes do not come evenly
in time (the reference data's heat-dissipation failures all fall in one thousand readings), so
one split can miss a mode entirely. Each fold trains on every row before its cut and tests the
next block; the pooled figures cover every tested row once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import FAILURE_TYPE, NO_FAILURE
from mlops_demo.core.model.features import FEATURE_COLUMNS, ID_COLUMN, LABEL_COLUMN
from mlops_demo.core.model.scoring import failure_probability
from mlops_demo.core.plant import physics

FIRST_CUT_SHARE = 0.3
BOOTSTRAP_RESAMPLES = 1000
RELIABILITY_BINS = 10
UNRECORDED_TYPE = "failed, type not recorded"
# The modes a reading's values explain; tool wear only as a window and random failures not at
# all, so the named mode is judged on these three.
EXPLAINED_TYPES = tuple(m.failure_type for m in physics.MODES if m != physics.TOOL_WEAR_MODE)


def f1_of_counts(caught, false_alarms, missed):
    """F1 of the failure class from its counts: 2 caught / (2 caught + false alarms + missed), 0
    where there is nothing to score. Takes numbers or numpy arrays of them."""
    base = 2 * np.asarray(caught) + false_alarms + missed
    f1 = np.where(base > 0, 2 * np.asarray(caught) / np.maximum(base, 1), 0.0)
    return float(f1) if f1.ndim == 0 else f1


def scores(truth: np.ndarray, predicted: np.ndarray, probability: np.ndarray) -> dict:
    """Failure-class precision, recall, F1 and PR AUC (average precision)."""
    from sklearn.metrics import average_precision_score

    caught = int((truth & predicted).sum())
    flagged, failures = int(predicted.sum()), int(truth.sum())
    return {
        "rows": len(truth),
        "failures": failures,
        "precision": caught / flagged if flagged else 0.0,
        "recall": caught / failures if failures else 0.0,
        "f1": f1_of_counts(caught, flagged - caught, failures - caught),
        "pr_auc": float(average_precision_score(truth, probability)) if failures else 0.0,
    }


def f1_interval(truth: np.ndarray, predicted: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """A 95 % bootstrap interval of F1, resampling rows. F1 depends on a sample only through its
    counts of caught, false alarms, missed and quiet, so each resample draws those four counts
    from their multinomial: the same distribution as resampling rows, in constant memory."""
    cells = np.array(
        [(truth & predicted).sum(), (~truth & predicted).sum(), (truth & ~predicted).sum()]
    )
    shares = np.append(cells, len(truth) - cells.sum()) / max(len(truth), 1)
    caught, false_alarms, missed, _ = (
        np.random.default_rng(seed).multinomial(len(truth), shares, size=BOOTSTRAP_RESAMPLES).T
    )
    f1 = f1_of_counts(caught, false_alarms, missed)
    low, high = np.percentile(f1, [2.5, 97.5])
    return float(low), float(high)


def calibration(truth: np.ndarray, probability: np.ndarray) -> dict:
    """The Brier score, the expected calibration error over equal-width bins, and the
    reliability table behind it: per bin, the mean probability said and the failure rate seen."""
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    bins = np.clip(np.digitize(probability, edges) - 1, 0, RELIABILITY_BINS - 1)
    table, error = [], 0.0
    for b in range(RELIABILITY_BINS):
        inside = bins == b
        if not inside.any():
            continue
        said, seen = float(probability[inside].mean()), float(truth[inside].mean())
        error += inside.mean() * abs(said - seen)
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "rows": int(inside.sum()),
                "mean_probability": round(said, 4),
                "failure_rate": round(seen, 4),
            }
        )
    brier = float(np.mean((probability - truth) ** 2)) if len(truth) else 0.0
    return {"brier": round(brier, 5), "ece": round(float(error), 5), "reliability": table}


def recall_by_failure_type(
    failure_types: pd.Series, truth: np.ndarray, predicted: np.ndarray
) -> dict:
    """Per failure type among the failed machines: how many there were and how many were
    flagged. (A status may say failed with "No Failure": its type went unrecorded.)"""
    kinds = failure_types.to_numpy()[truth]
    kinds = np.where(kinds == NO_FAILURE, UNRECORDED_TYPE, kinds)
    flagged = predicted[truth]
    return {
        str(kind): {
            "failures": int((kinds == kind).sum()),
            "caught": int(flagged[kinds == kind].sum()),
        }
        for kind in sorted(set(kinds))
    }


def named_mode_agreement(
    readings: pd.DataFrame, failure_types: pd.Series, truth: np.ndarray, predicted: np.ndarray
) -> dict:
    """Of the caught failures whose type the readings can explain, how often the mode named from
    the readings was the actual one."""
    caught = truth & predicted & failure_types.isin(EXPLAINED_TYPES).to_numpy()
    named = physics.explain(readings[caught])["failure_mode"]
    return mode_agreement(named, failure_types[caught])


def mode_agreement(named: pd.Series, failure_types: pd.Series) -> dict:
    """Of caught failures (aligned series: the mode named, the status's type), those whose type
    the readings can explain, and how many of them were named as that type's mode."""
    judged = failure_types.isin(EXPLAINED_TYPES).to_numpy()
    actual = failure_types[judged].map(physics.mode_of_failure_type).to_numpy()
    agreed = int((named[judged].to_numpy() == actual).sum())
    return {"caught": int(judged.sum()), "named_correctly": agreed}


def capped(predicted: np.ndarray, probability: np.ndarray, capacity: int | None, batch: int):
    """The verdicts a crew of `capacity` visits per day acts on: in each day's batch of `batch`
    readings, only the `capacity` riskiest flagged ones."""
    if capacity is None:
        return predicted
    out = np.zeros_like(predicted)
    for start in range(0, len(predicted), batch):
        day = slice(start, start + batch)
        flagged = np.flatnonzero(predicted[day])
        keep = flagged[np.argsort(-probability[day][flagged], kind="stable")[:capacity]]
        out[start + keep] = True
    return out


@dataclass(frozen=True)
class Fold:
    first_udi: int
    last_udi: int
    training_rows: int
    scores: dict


def _folds(joined: pd.DataFrame, folds: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    ordered = joined.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    cuts = np.linspace(round(len(ordered) * FIRST_CUT_SHARE), len(ordered), folds + 1).round()
    cuts = cuts.astype(int)
    return [
        (ordered.iloc[:start], ordered.iloc[start:end])
        for start, end in itertools.pairwise(cuts)
        if end > start
    ]


def forward_chained(
    joined: pd.DataFrame,
    build: Callable[[], object],
    folds: int,
    capacity: int | None = None,
    batch: int = 500,
    progress: Callable[[str], object] = lambda line: None,
    trained: tuple[int, object] | None = None,
    window: int | None = None,
) -> dict:
    """Train a fresh `build()` (any estimator taking the reading columns) and test it fold by
    fold, saying each fold's F1 to `progress`. Returns per-fold and pooled scores, the pooled
    F1's interval, the rules' scores on the same rows, calibration, recall per failure type,
    how often the named mode was right, and the scores at the crew's capacity. A fold whose
    training rows lack failures or healthy machines is left out, and counted. With a `window`,
    each fold trains on only the newest `window` rows before its block.

    `trained` is (rows, model): a model `build()` already fitted on the oldest `rows` rows. A
    fold training on exactly those rows tests it instead of fitting the same model again (a
    seeded `build()` fits the same model from the same rows)."""
    tested, fold_results, skipped = [], [], 0
    for train, test in _folds(joined, folds):
        train = train.tail(window) if window else train
        failures = int(train[LABEL_COLUMN].sum())
        if failures == 0 or failures == len(train):
            skipped += 1
            continue
        model = _fitted(train, build, trained)
        probability = failure_probability(model, test)
        predicted = model.predict(test[list(FEATURE_COLUMNS)]).astype(bool)
        truth = test[LABEL_COLUMN].astype(bool).to_numpy()
        tested.append(test.assign(_probability=probability, _predicted=predicted))
        fold_results.append(
            Fold(
                first_udi=int(test[ID_COLUMN].min()),
                last_udi=int(test[ID_COLUMN].max()),
                training_rows=len(train),
                scores=_rounded(scores(truth, predicted, probability)),
            )
        )
        done = fold_results[-1]
        progress(
            f"fold {len(fold_results) + skipped} of {folds}: trained on {len(train)} rows, "
            f"F1 {done.scores['f1']:.3f} on UDI {done.first_udi}-{done.last_udi}"
        )
    if not tested:
        return {"folds": [], "skipped_folds": skipped}
    return {
        "folds": [fold.__dict__ for fold in fold_results],
        "skipped_folds": skipped,
        **_pooled(pd.concat(tested, ignore_index=True), capacity, batch),
    }


def _fitted(train: pd.DataFrame, build: Callable[[], object], trained: tuple[int, object] | None):
    if trained is not None and trained[0] == len(train):
        return trained[1]
    return build().fit(train[list(FEATURE_COLUMNS)], train[LABEL_COLUMN].astype(int))


def _pooled(rows: pd.DataFrame, capacity: int | None, batch: int) -> dict:
    truth = rows[LABEL_COLUMN].astype(bool).to_numpy()
    probability = rows["_probability"].to_numpy()
    predicted = rows["_predicted"].to_numpy()
    rules = physics.rule_verdicts(rows).to_numpy()
    low, high = f1_interval(truth, predicted)
    failure_types = rows[FAILURE_TYPE]
    at_capacity = capped(predicted, probability, capacity, batch)
    return {
        "pooled": {**_rounded(scores(truth, predicted, probability)), "f1_low": round(low, 4),
                   "f1_high": round(high, 4)},
        "rules": _rounded(scores(truth, rules, rules.astype(float))),
        "calibration": calibration(truth.astype(float), probability),
        "pr_curve": pr_curve(truth, probability),
        "recall_by_failure_type": recall_by_failure_type(failure_types, truth, predicted),
        "named_mode": named_mode_agreement(rows, failure_types, truth, predicted),
        "at_capacity": {"capacity": capacity, "batch": batch,
                        **_rounded(scores(truth, at_capacity, probability))},
    }  # fmt: skip


PR_CURVE_POINTS = 40


def pr_curve(truth: np.ndarray, probability: np.ndarray) -> list[list[float]]:
    """[recall, precision] pairs along the precision-recall curve, thinned to at most
    `PR_CURVE_POINTS`, for the model card's picture."""
    from sklearn.metrics import precision_recall_curve

    if not truth.any():
        return []
    precision, recall, _ = precision_recall_curve(truth, probability)
    keep = np.unique(np.linspace(0, len(recall) - 1, PR_CURVE_POINTS).round().astype(int))
    return [[round(float(recall[i]), 4), round(float(precision[i]), 4)] for i in keep]


def _rounded(values: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


def evaluate(model, frame: pd.DataFrame) -> tuple[dict[str, float], list[list[int]]]:
    """Failure-class scores on a labelled frame, and the confusion matrix [[TN, FP], [FN, TP]]."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    if frame.empty:
        return {}, [[0, 0], [0, 0]]
    truth = frame[LABEL_COLUMN].astype(int)
    probability = failure_probability(model, frame)
    predicted = model.predict(frame[list(FEATURE_COLUMNS)])
    metrics = {
        "accuracy": accuracy_score(truth, predicted),
        "precision": precision_score(truth, predicted, zero_division=0),
        "recall": recall_score(truth, predicted, zero_division=0),
        "f1": f1_score(truth, predicted, zero_division=0),
    }
    if truth.nunique() == 2:
        metrics["roc_auc"] = roc_auc_score(truth, probability)
    confusion = confusion_matrix(truth, predicted, labels=[0, 1]).tolist()
    return {k: round(float(v), 4) for k, v in metrics.items()}, confusion
