"""What each change of the plant does to the failures, to the documented rules and to a model.

    .venv/bin/python bench/plant_changes.py [--csv ../shared/data/predictive_maintenance.csv]

For each source (the reference data, 10,000 simulated readings) and each change of
`core/plant/scenarios.py` (`PLANT_CHANGES`), with the change applied from the first reading on:
the failure rate before and after; F1 on readings 6,001-10,000 of the documented rules, of a
model trained on readings 1-4,000 before the change, and of one trained on the same readings'
labels after it.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd
from _common import REFERENCE_CSV

from mlops_demo.core.model import pipeline
from mlops_demo.core.model.features import FEATURE_COLUMNS, LABEL_COLUMN
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.monitoring.performance import confusion
from mlops_demo.core.plant.physics import rule_verdicts
from mlops_demo.core.plant.scenarios import PLANT_CHANGES
from mlops_demo.core.plant.simulator import simulate

TRAIN, TEST_FROM = 4000, 6000


def _fit(rows: pd.DataFrame):
    return pipeline.build_pipeline(Hyperparameters()).fit(
        rows[list(FEATURE_COLUMNS)], rows[LABEL_COLUMN]
    )


def _f1(verdicts, truth: pd.Series) -> float:
    return confusion(pd.Series(list(verdicts)), truth).f1 or 0.0


def run(source: str, data: pd.DataFrame) -> None:
    before = _fit(data.iloc[:TRAIN])
    print(f"\n{source}: {len(data):,} readings, failure rate {data[LABEL_COLUMN].mean():.3f}")
    print(f"  {'change':<14} {'rate after':>10} {'rules F1':>9} {'model before':>13} "
          f"{'retrained':>10}")  # fmt: skip
    for name, change in PLANT_CHANGES.items():
        after = change.apply(data)
        test = after.iloc[TEST_FROM:].reset_index(drop=True)

        inputs, truth = test[list(FEATURE_COLUMNS)], test[LABEL_COLUMN]
        rules, old, new = (
            _f1(verdicts, truth)
            for verdicts in (rule_verdicts(test), before.predict(inputs),
                             _fit(after.iloc[:TRAIN]).predict(inputs))
        )  # fmt: skip
        print(f"  {name:<14} {after[LABEL_COLUMN].mean():>10.3f} {rules:>9.3f} {old:>13.3f} "
              f"{new:>10.3f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", type=Path, default=REFERENCE_CSV)
    args = parser.parse_args()
    if args.csv.exists():
        run("reference data", pd.read_csv(args.csv, encoding="utf-8-sig"))
    else:
        print(f"skipped the reference data: {args.csv} is absent")
    run("simulator", pd.DataFrame(simulate(10_000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
