"""What a deployment pays to score its first readings: loading the registered model and scoring
500 readings in a fresh interpreter, from the pickle (scikit-learn imported to unpickle it) and
from the forest's arrays (`core/model/array_forest.py`), in alternating rounds.

    .venv/bin/python bench/scoring_load.py [--rounds 5] [--rows 30000]

Trains one model on that many simulated joined rows, writes its pickle and its arrays, then
times each form's load and score in its own process (pandas imported beforehand, as a
deployment run has it, and not counted). Prints each round and the medians with their ratio,
then both forms scoring the whole test set in one process, as the gate does.
"""

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import pandas as pd

from mlops_demo.core.model import features, training
from mlops_demo.core.model.array_forest import ArrayForest, arrays_of
from mlops_demo.core.plant.simulator import simulate

LOADERS = {
    "pickle": "import joblib; model = joblib.load(path)",
    "arrays": "from mlops_demo.core.model.array_forest import ArrayForest\n"
    "model = ArrayForest(open(path, 'rb').read())",
}
CHILD = """import sys, time
import pandas as pd
readings = pd.read_csv(sys.argv[2])
path = sys.argv[1]
started = time.perf_counter()
{load}
model.predict(readings)
print(time.perf_counter() - started)
"""


def _seconds(form: str, model_file: Path, readings: Path) -> float:
    code = CHILD.format(load=LOADERS[form])
    result = subprocess.run(
        [sys.executable, "-c", code, str(model_file), str(readings)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=30_000)
    args = parser.parse_args()
    machines = pd.DataFrame(simulate(args.rows))
    train, test = training.split_by_udi(machines, 0.7)
    model = training.train(train, test).model
    with tempfile.TemporaryDirectory() as tmp:
        files = {"pickle": Path(tmp) / "model.pickle", "arrays": Path(tmp) / "model.arrays.npz"}
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        files["pickle"].write_bytes(buffer.getvalue())
        files["arrays"].write_bytes(arrays_of(model))
        readings = Path(tmp) / "readings.csv"
        test.head(500).to_csv(readings, index=False)
        times: dict[str, list[float]] = {form: [] for form in LOADERS}
        for round_number in range(1, args.rounds + 1):
            for form in LOADERS:
                times[form].append(_seconds(form, files[form], readings))
            print(f"round {round_number}: " + ", ".join(
                f"{form} {times[form][-1]:.3f} s" for form in LOADERS))  # fmt: skip
        sizes = ", ".join(f"{form} {files[form].stat().st_size / 1e6:.2f} MB" for form in files)
        bulk = _bulk_seconds(model, ArrayForest(files["arrays"].read_bytes()), test)
    medians = {form: statistics.median(values) for form, values in times.items()}
    print(f"load and score 500 readings, median of {args.rounds}: "
          f"pickle {medians['pickle']:.3f} s, "
          f"arrays {medians['arrays']:.3f} s ({medians['arrays'] / medians['pickle']:.3f}x); "
          f"files: {sizes}")  # fmt: skip
    print(f"scoring all {len(test):,} test readings in this process, best of 3: pickle "
          f"{bulk['pickle']:.3f} s, arrays {bulk['arrays']:.3f} s "
          f"({bulk['arrays'] / bulk['pickle']:.2f}x)")  # fmt: skip
    return 0


def _bulk_seconds(pipeline, forest: ArrayForest, test: pd.DataFrame) -> dict[str, float]:
    """Both forms loaded, scoring a whole test set as the gate and the candidates table do."""
    inputs = test[list(features.FEATURE_COLUMNS)]
    best = {}
    for form, model in (("pickle", pipeline), ("arrays", forest)):
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            model.predict(inputs)
            runs.append(time.perf_counter() - started)
        best[form] = min(runs)
    return best


if __name__ == "__main__":
    raise SystemExit(main())
