"""How many rows one tree needs: forward-chained quality and time by `max_rows_per_tree`.

    .venv/bin/python bench/rows_per_tree.py [--caps 1000 2000 3000 5000 10000 0] [--rows 100000]

Each tree of the forest fits a bootstrap sample of at most `max_rows_per_tree` training rows (0:
as many as there are). For each cap, in one run: the forward-chained evaluation (seven folds, as
`trained_model` does by default) over the reference data and over N simulated joined rows, with
pooled F1 and its 95 % interval, PR AUC, expected calibration error, the tool-wear failures
caught (the one mode the readings explain only as a window) and the seconds the seven fits took.
The cap's cost is the fit's; its quality is what the evaluation pools over every tested row.
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
from _common import REFERENCE_CSV

from mlops_demo.core.messages.records import TOOL_WEAR_FAILURE
from mlops_demo.core.model import evaluation, features, pipeline
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.plant.simulator import simulate

FOLDS = 7


def _line(cap: int, data: pd.DataFrame) -> str:
    params = replace(Hyperparameters(), max_rows_per_tree=cap)
    started = time.perf_counter()
    report = evaluation.forward_chained(data, lambda: pipeline.build_pipeline(params), FOLDS)
    seconds = time.perf_counter() - started
    pooled = report["pooled"]
    wear = report["recall_by_failure_type"].get(TOOL_WEAR_FAILURE, {"caught": 0, "failures": 0})
    default = " (default)" if cap == Hyperparameters().max_rows_per_tree else ""
    return (f"{(f'{cap:,}' if cap else 'all') + default:>16} {pooled['f1']:>6.4f} "
            f"{pooled['f1_low']:.3f}-{pooled['f1_high']:.3f} {pooled['pr_auc']:>7.4f} "
            f"{report['calibration']['ece']:>7.4f} {wear['caught']:>5}/{wear['failures']:<5} "
            f"{seconds:>8.1f}")  # fmt: skip


def _table(title: str, data: pd.DataFrame, caps: list[int]) -> None:
    print(f"\n{title}: {len(data):,} joined rows, {int(data[features.LABEL_COLUMN].sum())} "
          f"failures, {FOLDS} forward-chained folds")  # fmt: skip
    print(f"{'rows per tree':>16} {'F1':>6} {'interval':>11} {'PR AUC':>7} {'ECE':>7} "
          f"{'wear caught':>11} {'fits s':>8}")  # fmt: skip
    for cap in caps:
        print(_line(cap, data), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--caps", type=int, nargs="+", default=[1000, 2000, 3000, 5000, 10000, 0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv", type=Path, default=REFERENCE_CSV)
    args = parser.parse_args()
    if args.csv.exists():
        _table("Reference data", pd.read_csv(args.csv, encoding="utf-8-sig"), args.caps)
    else:
        print(f"skipped the reference data: {args.csv} is absent")
    _table("Simulated", pd.DataFrame(simulate(args.rows)), args.caps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
