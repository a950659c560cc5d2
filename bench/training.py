"""Training at scale: the real `train_ml_model` job on 10,000 and 100,000 simulated joined rows.

    .venv/bin/python bench/training.py [--rows 10000 100000] [--folds 0 7]

For each size, writes JSONL stores of that many simulated readings and their statuses into a
private data directory (with their UDI indexes, as ingestion leaves them), then runs
`train_ml_model` in a fresh process: the join, the time-ordered split, the fit, the evaluation,
the gate's candidate record and the registry's model, hash and card. Prints the job's wall time
(the process's imports excluded), the fit alone, and the process's peak resident memory, with
the forward-chained evaluation left out (0 folds) and with the default seven folds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import peak_rss_mb, run_job_timed

from mlops_demo.core.messages.records import canonical_line, reading_of, status_of
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.core.plant.simulator import iter_records
from mlops_demo.core.storage.jsonl import JsonlStore


def _build(data_dir: Path, rows: int) -> None:
    records = iter_records()
    with (
        open(data_dir / READINGS.store_file, "wb") as readings,
        open(data_dir / STATUSES.store_file, "wb") as statuses,
    ):
        for _ in range(rows):
            record = next(records)
            readings.write(canonical_line(reading_of(record)) + b"\n")
            statuses.write(canonical_line(status_of(record)) + b"\n")
    for stream in (READINGS, STATUSES):
        path = data_dir / stream.store_file
        JsonlStore(path, data_dir / stream.quarantine_file).index.bring_up_to_date()


def _child(data_dir: Path, folds: int) -> dict:
    os.environ["MLOPS_DATA_DIR"] = str(data_dir)
    os.environ["MLOPS_REGISTRY_KEY_FILE"] = str(data_dir / "registry.key")  # never the project's
    config = {"ops": {"trained_model": {"config": {"forward_chained_folds": folds}}}}
    run = run_job_timed("train_ml_model", run_config=config)
    [trained] = run.result.asset_materializations_for_node("trained_model")
    return {
        "seconds": run.seconds,
        "fit_seconds": trained.metadata["training_seconds"].value,
        "training_rows": trained.metadata["train_rows"].value,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(Path(sys.argv[2]), int(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 7])
    args = parser.parse_args()
    print(f"{'joined rows':>11} {'folds':>5} {'job s':>7} {'fit s':>7} {'training rows':>13} "
          f"{'peak MB':>8}")  # fmt: skip
    for n in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            _build(Path(tmp), n)
            for folds in args.folds:
                figures = _run_child(tmp, folds)
                print(f"{n:>11,} {folds:>5} {figures['seconds']:>7.2f} "
                      f"{figures['fit_seconds']:>7.2f} {figures['training_rows']:>13,} "
                      f"{figures['peak_rss_mb']:>8.0f}")  # fmt: skip
    return 0


def _run_child(data_dir: str, folds: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", data_dir, str(folds)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
