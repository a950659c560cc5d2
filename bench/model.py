"""Model quality and speed: the project's pipeline against a tuned random-forest baseline.

    .venv/bin/python bench/model.py [--csv ../shared/data/predictive_maintenance.csv]

On the reference data's time-ordered 70/30 split, prints failure-class precision, recall, F1,
ROC AUC, training seconds and seconds to score 10,000 readings for the project's pipeline and,
in the same run, for a random forest on the four raw features (air and process temperature,
speed, torque) tuned by a small grid search for precision. Then the README scenario: the
simulator's first 500 and 1,000 joined rows, split 70/30 as the train_ml_model job does.
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import GridSearchCV

from mlops_demo.core import modelling
from mlops_demo.core.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TARGET,
    TORQUE,
)
from mlops_demo.core.settings import REPO_ROOT
from mlops_demo.core.simulator import simulate

BASELINE_FEATURES = [AIR_TEMPERATURE, PROCESS_TEMPERATURE, ROTATIONAL_SPEED, TORQUE]
BASELINE_GRID = {"n_estimators": [100, 200], "max_depth": [None, 10], "min_samples_leaf": [1, 3]}


def _scores(truth, predicted, probability) -> dict[str, float]:
    return {
        "precision": precision_score(truth, predicted, zero_division=0),
        "recall": recall_score(truth, predicted, zero_division=0),
        "f1": f1_score(truth, predicted, zero_division=0),
        "roc_auc": roc_auc_score(truth, probability) if truth.nunique() == 2 else float("nan"),
    }


def project(train: pd.DataFrame, test: pd.DataFrame, scoring: pd.DataFrame) -> dict:
    started = time.perf_counter()
    result = modelling.train(train, test)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    modelling.failure_probability(result.model, scoring)
    score_seconds = time.perf_counter() - started
    truth = test[TARGET]
    features = test[list(modelling.FEATURE_COLUMNS)]
    predicted = result.model.predict(features)
    probability = modelling.failure_probability(result.model, test)
    return {**_scores(truth, predicted, probability), "train_s": seconds, "score_s": score_seconds}


def baseline(train: pd.DataFrame, test: pd.DataFrame, scoring: pd.DataFrame) -> dict:
    search = GridSearchCV(
        RandomForestClassifier(random_state=0, n_jobs=-1), BASELINE_GRID, scoring="precision", cv=3
    )
    started = time.perf_counter()
    search.fit(train[BASELINE_FEATURES], train[TARGET])
    seconds = time.perf_counter() - started
    model = search.best_estimator_
    started = time.perf_counter()
    model.predict_proba(scoring[BASELINE_FEATURES])
    score_seconds = time.perf_counter() - started
    probability = model.predict_proba(test[BASELINE_FEATURES])[:, 1]
    predicted = model.predict(test[BASELINE_FEATURES])
    return {**_scores(test[TARGET], predicted, probability), "train_s": seconds,
            "score_s": score_seconds}  # fmt: skip


def _row(name: str, figures: dict) -> str:
    return (f"{name:<34} {figures['precision']:>9.3f} {figures['recall']:>7.3f} "
            f"{figures['f1']:>6.3f} {figures['roc_auc']:>8.3f} {figures['train_s']:>8.2f} "
            f"{figures['score_s']:>8.3f}")  # fmt: skip


HEADER = (
    f"{'model':<34} {'precision':>9} {'recall':>7} {'f1':>6} {'roc_auc':>8} "
    f"{'train s':>8} {'score s':>8}"
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--csv",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "data" / "predictive_maintenance.csv",
    )
    args = parser.parse_args()
    if args.csv.exists():
        data = pd.read_csv(args.csv, encoding="utf-8-sig")
        train, test = modelling.split_by_udi(data, 0.7)
        scoring = data.head(10_000)
        failures = int(test[TARGET].sum())
        print(f"Reference data {args.csv.name}: {len(train)} train / {len(test)} test rows, "
              f"{failures} test failures; scoring {len(scoring):,} readings")  # fmt: skip
        print(HEADER)
        print(_row("project pipeline", project(train, test, scoring)))
        print(_row("baseline RF, 4 raw features, grid", baseline(train, test, scoring)))
        started = time.perf_counter()
        modelling.build_pipeline(modelling.Hyperparameters()).fit(
            data[list(modelling.FEATURE_COLUMNS)], data[TARGET]
        )
        print(f"project pipeline trained on all {len(data):,} rows in "
              f"{time.perf_counter() - started:.2f} s")  # fmt: skip
    else:
        print(f"skipped the reference comparison: {args.csv} is absent")
    print("\nREADME scenario (simulator, seed 42, 70/30 split as train_ml_model does)")
    print(HEADER)
    machines = pd.DataFrame(simulate(1000))
    for rows in (500, 1000):
        train, test = modelling.split_by_udi(machines.head(rows), 0.7)
        print(_row(f"project pipeline, {rows} joined rows", project(train, test, machines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
