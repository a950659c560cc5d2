"""How many of the newest labelled readings a model should learn from: forward-chained F1 by
training window.

    .venv/bin/python bench/window.py [--windows 1000 2000 5000 10000 20000 50000 0] [--rows 100000]

For each window, in one run: the forward-chained evaluation (seven folds, as `trained_model`
does) over the reference data and over N simulated joined rows, each fold training on only the
newest `window` rows before its block (0: every row before it). Every window is tested on the
same blocks. Prints pooled F1 with its 95 % interval, PR AUC and the seconds the seven fits
took: the window's quality, and its cost, which follows the window and not the history.
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from _common import REFERENCE_CSV

from mlops_demo.core.model import evaluation, features, pipeline
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.plant.simulator import simulate

FOLDS = 7


def _table(title: str, data: pd.DataFrame, windows: list[int]) -> None:
    print(f"\n{title}: {len(data):,} joined rows, {int(data[features.LABEL_COLUMN].sum())} "
          f"failures, {FOLDS} forward-chained folds")  # fmt: skip
    print(f"{'window':>8} {'F1':>6} {'interval':>11} {'PR AUC':>7} {'fits s':>7}")
    for window in windows:
        started = time.perf_counter()
        report = evaluation.forward_chained(
            data, lambda: pipeline.build_pipeline(Hyperparameters()), FOLDS, window=window
        )
        pooled = report["pooled"]
        print(f"{f'{window:,}' if window else 'all':>8} {pooled['f1']:>6.4f} "
              f"{pooled['f1_low']:.3f}-{pooled['f1_high']:.3f} {pooled['pr_auc']:>7.4f} "
              f"{time.perf_counter() - started:>7.1f}", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--windows", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000, 50000, 0]
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv", type=Path, default=REFERENCE_CSV)
    args = parser.parse_args()
    if args.csv.exists():
        _table("Reference data", pd.read_csv(args.csv, encoding="utf-8-sig"), args.windows)
    else:
        print(f"skipped the reference data: {args.csv} is absent")
    _table("Simulated", pd.DataFrame(simulate(args.rows)), args.windows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
