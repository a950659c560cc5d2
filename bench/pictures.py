"""What a picture costs the step that draws it: matplotlib's import in a fresh process (each run
is one) and each picture's drawing, beside the work of the step itself, in the same run.

    .venv/bin/python bench/pictures.py [--repeat 5]

The definitions never import matplotlib (tests/unit/test_layers.py), so run start does not
change; the figures here are what a run that draws adds to its own work: the ingestion run once
a model is deployed (the drift check's picture), scoring, monitoring, training and the gate.
"""

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from mlops_demo.core.monitoring import drift
from mlops_demo.core.plant.simulator import simulate

IMPORT = (
    "import time; t = time.perf_counter(); import matplotlib.figure; print(time.perf_counter() - t)"
)


def _fresh_import_seconds() -> float:
    out = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True, check=True)
    return float(out.stdout)


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from mlops_demo.core.pictures.drift import drift_picture
    from mlops_demo.core.pictures.inference import risk_picture

    readings = pd.DataFrame(simulate(10_500))
    reference, before, newest = readings[:10_000], readings[9_999:10_000], readings[10_000:]
    thresholds = drift.DriftThresholds()
    findings = drift.assess(reference, before, newest, thresholds)
    rng = np.random.default_rng(0)
    scored = newest.assign(
        failure_probability=np.sort(rng.beta(1, 30, len(newest)))[::-1],
        at_risk=False,
        failure_mode="power",
    )
    imports, assess, drawn_drift, drawn_risk = [], [], [], []
    for _ in range(args.repeat):
        imports.append(_fresh_import_seconds())
        assess.append(_timed(lambda: drift.assess(reference, before, newest, thresholds)))
        drawn_drift.append(_timed(lambda: drift_picture(reference, before, newest, findings)))
        drawn_risk.append(_timed(lambda: risk_picture(scored)))
    median = statistics.median
    print(f"median of {args.repeat}, one process each for the import:")
    print(f"  import matplotlib.figure in a fresh process   {median(imports):.3f} s")
    print(f"  the drift check's twelve tests, 500 readings  {median(assess):.3f} s")
    print(f"  its picture, drawn and saved as PNG           {median(drawn_drift):.3f} s "
          f"({median(drawn_drift) / median(assess):.2f}x the tests)")  # fmt: skip
    print(f"  devices_at_risk's picture, 500 readings       {median(drawn_risk):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
