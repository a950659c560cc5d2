"""Model quality: forward-chained evaluation of the project's pipeline beside the documented
rules, the pipeline it replaced and a raw-feature baseline, in one run.

    .venv/bin/python bench/model.py [--csv ../shared/data/predictive_maintenance.csv]

On the reference data, each fold trains on every reading before a cut and tests the next 1,000
(cuts every 1,000 from 3,000, as `trained_model` does with its default seven folds). For each
model it prints pooled precision, recall, F1 with its 95 % bootstrap interval, PR AUC, the
expected calibration error and Brier score, heat-dissipation recall, how often the named mode
was the actual failure type, and seconds to train all folds; then the goals, met or missed,
judged on those figures. The models:
- the project's pipeline (physics features, limit margins and indicators, calibrated forest);
- the pipeline before limits and calibration (physics features, out-of-bag threshold);
- a random forest on the four raw features (air and process temperature, speed, torque);
- the documented rules alone (no training).
Then the README scenario: the simulator's first 500 and 1,000 joined rows.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import REFERENCE_CSV
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    HEAT_DISSIPATION_FAILURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TORQUE,
)
from mlops_demo.core.model import evaluation, features, pipeline
from mlops_demo.core.model.calibration import best_f1_threshold
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.plant.simulator import simulate

RAW_FEATURES = [AIR_TEMPERATURE, PROCESS_TEMPERATURE, ROTATIONAL_SPEED, TORQUE]
FOLDS = 7
GOALS = {"pooled F1": 0.90, "expected calibration error": 0.02, "named mode right": 0.90}


class OutOfBagThreshold(ClassifierMixin, BaseEstimator):
    """The baselines' classifier: a random forest whose threshold is tuned for the failure F1 on
    its out-of-bag scores, uncalibrated (the project's forest calibrates its scores)."""

    def __init__(self, forest: RandomForestClassifier):
        self.forest = forest

    def fit(self, X, y):
        self.forest_ = clone(self.forest).set_params(oob_score=True).fit(X, y)
        self.classes_ = self.forest_.classes_
        out_of_bag = np.nan_to_num(self.forest_.oob_decision_function_[:, 1])
        self.threshold_ = best_f1_threshold(np.asarray(y), out_of_bag)
        return self

    def predict_proba(self, X):
        return self.forest_.predict_proba(X)

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


def _forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=-1)


def project() -> Pipeline:
    return pipeline.build_pipeline(Hyperparameters())


def before_limits() -> Pipeline:
    return Pipeline(
        [
            ("physics_features", FunctionTransformer(features.physics_features)),
            ("classifier", OutOfBagThreshold(_forest())),
        ]
    )


def raw_features() -> Pipeline:
    return Pipeline(
        [
            ("raw", FunctionTransformer(lambda frame: frame[RAW_FEATURES])),
            ("classifier", OutOfBagThreshold(_forest())),
        ]
    )


HEADER = (
    f"{'model':<48} {'prec':>5} {'recall':>6} {'F1':>5} {'F1 95% interval':>15} {'PR AUC':>6} "
    f"{'ECE':>6} {'Brier':>6} {'heat rec':>8} {'mode ok':>7} {'train s':>7}"
)


def _row(name: str, report: dict, seconds: float | None) -> str:
    pooled = report["pooled"]
    calibration = report["calibration"] or {"ece": float("nan"), "brier": float("nan")}
    heat = report["recall_by_failure_type"].get(HEAT_DISSIPATION_FAILURE)
    heat_recall = heat["caught"] / heat["failures"] if heat else float("nan")
    named = report["named_mode"]
    mode = named["named_correctly"] / named["caught"] if named["caught"] else float("nan")
    interval = f"{pooled['f1_low']:.3f}-{pooled['f1_high']:.3f}" if report["calibration"] else "-"
    took = f"{seconds:7.1f}" if seconds is not None else f"{'-':>7}"
    return (f"{name:<48} {pooled['precision']:>5.3f} {pooled['recall']:>6.3f} "
            f"{pooled['f1']:>5.3f} {interval:>15} {pooled['pr_auc']:>6.3f} "
            f"{calibration['ece']:>6.4f} {calibration['brier']:>6.4f} {heat_recall:>8.2f} "
            f"{mode:>7.2f} {took}")  # fmt: skip


def _evaluate(data: pd.DataFrame, build) -> tuple[dict, float]:
    started = time.perf_counter()
    report = evaluation.forward_chained(data, build, FOLDS)
    return report, time.perf_counter() - started


def _rules_report(project_report: dict) -> dict:
    """The rules' figures in the project report's shape (the report computes them on its rows)."""
    return {
        "pooled": project_report["rules"],
        "calibration": {},
        "recall_by_failure_type": {},
        "named_mode": {"caught": 0, "named_correctly": 0},
    }


def _goals(report: dict, rules_f1: float) -> None:
    pooled, named = report["pooled"], report["named_mode"]
    observed = {
        "pooled F1": pooled["f1"],
        "expected calibration error": report["calibration"]["ece"],
        "named mode right": named["named_correctly"] / named["caught"],
    }
    print("\nGoals (the project's pipeline, this run):")
    for goal, target in GOALS.items():
        value = observed[goal]
        met = value <= target if goal == "expected calibration error" else value >= target
        bound = "at most" if goal == "expected calibration error" else "at least"
        print(f"  {goal}: {value:.4f}, goal {bound} {target} -> {'met' if met else 'MISSED'}")
    print(f"  documented rules' pooled F1 on the same rows: {rules_f1:.4f}")


def reference(csv: Path) -> None:
    data = pd.read_csv(csv, encoding="utf-8-sig")
    print(f"Reference data {csv.name}: {len(data):,} rows, {FOLDS} forward-chained folds")
    print(HEADER)
    ours, seconds = _evaluate(data, project)
    print(_row("project pipeline (limits, calibrated)", ours, seconds))
    print(_row("before: physics features, out-of-bag threshold", *_evaluate(data, before_limits)))
    print(_row("baseline: forest on 4 raw features", *_evaluate(data, raw_features)))
    print(_row("documented rules (no training)", _rules_report(ours), None))
    _goals(ours, ours["rules"]["f1"])
    print("\nReliability (project pipeline, pooled folds):")
    for row in ours["calibration"]["reliability"]:
        print(
            f"  said {row['bin']}: {row['rows']:>5} readings, mean said "
            f"{row['mean_probability']:.3f}, failure rate seen {row['failure_rate']:.3f}"
        )


def readme_scenario() -> None:
    print("\nREADME scenario (simulator, seed 42): forward-chained over the first N joined rows")
    print(HEADER)
    machines = pd.DataFrame(simulate(1000))
    for rows in (500, 1000):
        report, seconds = _evaluate(machines.head(rows), project)
        if report["folds"]:
            print(_row(f"project pipeline, {rows} joined rows", report, seconds))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", type=Path, default=REFERENCE_CSV)
    args = parser.parse_args()
    if args.csv.exists():
        reference(args.csv)
    else:
        print(f"skipped the reference comparison: {args.csv} is absent")
    readme_scenario()
    return 0


if __name__ == "__main__":
    sys.exit(main())
