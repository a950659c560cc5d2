"""Monitoring and inference at scale, on a large store and prediction log.

    .venv/bin/python bench/monitoring.py [--rows 1000000] [--predictions 100000]
                                         [--store jsonl|postgres] [--postgres-url URL]

Builds a JSONL store of `--rows` readings and the statuses of all but the newest 500, and a
prediction log of `--predictions` verdicts for the newest readings, and writes the stores' UDI
indexes as their next ingestion would. Then, each in a fresh process
so its peak RSS is its own, it times what the assets and the check read and compute:
- performance: `deployed_model_performance` reads the log and the statuses in its UDI range,
  labels and counts;
- drift: `cleaned_readings_resemble_training_data` reads the training readings and the newest
  window by UDI range and compares six features;
- devices_at_risk: what the asset does, in the process of a run (the code location imported
  first): finds the 500 readings without a status, reads only those, scores them with a model
  trained on the first 10,000 joined rows and appends the verdicts to the prediction log.
Each is set beside pandas' own JSON-lines reader reading the same files and computing nothing:
what a monitor that parses the files must pay before its first sum. With `--store postgres`, the
same rows are copied into a private schema and the three read them there, through the
PostgreSQL store and prediction log (the baseline still reads the JSONL files). The peak of a
process that only imports what devices_at_risk's does is printed as its floor.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from _common import peak_rss_mb

from mlops_demo.core.messages.records import canonical_line, reading_of, status_of
from mlops_demo.core.plant.simulator import iter_records

# What each computation reads: its baseline reads the same files and computes nothing.
FILES = {
    "performance": ("predictions.jsonl", "statuses.jsonl"),
    "drift": ("readings.jsonl",),
    "devices_at_risk": ("readings.jsonl", "statuses.jsonl"),
}
# This morning's readings, whose statuses have not arrived: what devices_at_risk scores.
WAITING = 500


# "<url> <schema>" when the stores and the log are PostgreSQL's (--store postgres).
POSTGRES_ENV = "BENCH_POSTGRES_STORE"


def _store(directory: Path, name: str):
    if POSTGRES_ENV in os.environ:
        from mlops_demo.core.storage.postgres import PostgresStore

        url, schema = os.environ[POSTGRES_ENV].split()
        table = name.removesuffix(".jsonl")
        return PostgresStore(url, schema, table, f"quarantine_{table}")
    from mlops_demo.core.storage.jsonl import JsonlStore

    return JsonlStore(directory / name, directory / f"quarantine-{name}")


def _log(directory: Path):
    from mlops_demo.core.storage.predictions import JsonlPredictionLog, PostgresPredictionLog

    if POSTGRES_ENV in os.environ:
        return PostgresPredictionLog(*os.environ[POSTGRES_ENV].split())
    return JsonlPredictionLog(directory / "predictions.jsonl")


def _copy_into_postgres(directory: Path, url: str, schema: str) -> None:
    """The JSONL files, line for line, into the tables the PostgreSQL store and log use."""
    from psycopg2 import sql

    from mlops_demo.core.storage.postgres_connection import connect
    from mlops_demo.core.storage.udi_index import udi_of_line

    os.environ[POSTGRES_ENV] = f"{url} {schema}"
    for name in ("readings.jsonl", "statuses.jsonl"):
        _store(directory, name).create()
    log = _log(directory)
    log.append([])  # creates its table
    with connect(url) as connection, connection.cursor() as cursor:
        for name, columns in (
            ("readings.jsonl", "(udi, record)"),
            ("statuses.jsonl", "(udi, record)"),
            ("predictions.jsonl", "(udi, model, entry)"),
        ):
            rows = io.StringIO()
            for line in (directory / name).read_text().splitlines():
                key = f"{udi_of_line(line.encode())}"
                if name == "predictions.jsonl":
                    key += "\t" + json.loads(line)["model"]
                rows.write(f"{key}\t{line}\n")
            rows.seek(0)
            table = sql.Identifier(schema, name.removesuffix(".jsonl"))
            copy = sql.SQL("COPY {} " + columns + " FROM STDIN").format(table)
            cursor.copy_expert(copy.as_string(cursor), rows)
        connection.commit()


def _devices_at_risk(directory: Path) -> None:
    import joblib

    from mlops_demo.core.messages.records import READING_FIELDS, UDI
    from mlops_demo.core.model import scoring

    readings, statuses = _store(directory, "readings.jsonl"), _store(directory, "statuses.jsonl")
    unknown = readings.read_udis(READING_FIELDS, readings.udis_not_in(statuses))
    assert statuses.read_udis((UDI,), unknown[UDI].to_numpy()).empty
    scored = scoring.score(joblib.load(directory / "model.joblib"), unknown)
    verdicts = [
        {**_verdict(int(row.UDI), np.random.default_rng(0)), "model": "bench",
         "failure_probability": float(row.failure_probability), "at_risk": bool(row.at_risk)}
        for row in scored.itertuples()
    ]  # fmt: skip
    assert _log(directory).append(verdicts) == WAITING


def _train(directory: Path) -> None:
    import joblib

    from mlops_demo.core.messages.records import READING_FIELDS, STATUS_FIELDS
    from mlops_demo.core.model import training

    readings = _store(directory, "readings.jsonl").read_range(READING_FIELDS, last_udi=10_000)
    statuses = _store(directory, "statuses.jsonl").read_range(STATUS_FIELDS, last_udi=10_000)
    joined = training.join_on_udi(readings, statuses)
    model = training.train(*training.split_by_udi(joined, 0.7)).model
    joblib.dump(model, directory / "model.joblib")


def _child(directory: Path, phase: str, trained_through: int) -> dict:
    import mlops_demo.definitions  # noqa: F401 (what a run's process imports first)

    if phase == "floor":
        import sklearn.ensemble  # noqa: F401 (what unpickling the model imports)

        return {"seconds": 0.0, "peak_rss_mb": peak_rss_mb()}
    import pandas as pd

    from mlops_demo.core.messages.records import READING_FIELDS, TARGET, UDI
    from mlops_demo.core.monitoring import drift
    from mlops_demo.core.monitoring.performance import realized_performance

    started = time.perf_counter()
    if phase.endswith(":baseline"):
        for name in FILES[phase.split(":")[0]]:
            pd.read_json(directory / name, lines=True)
    elif phase == "devices_at_risk":
        _devices_at_risk(directory)
    elif phase == "performance":
        log = _log(directory).read_frame()
        statuses = _store(directory, "statuses.jsonl").read_range(
            (UDI, TARGET), first_udi=int(log[UDI].min()), last_udi=int(log[UDI].max())
        )
        realized_performance(log, statuses, {})
    else:
        readings, thresholds = _store(directory, "readings.jsonl"), drift.DriftThresholds()
        reference = readings.read_range(
            READING_FIELDS, last_udi=trained_through, newest=thresholds.reference_rows
        )
        newest = readings.read_range(
            READING_FIELDS, first_udi=trained_through + 1, newest=thresholds.window
        )
        first_new = int(newest[UDI].min())
        before = readings.read_range(READING_FIELDS, last_udi=first_new - 1, newest=1)
        drift.assess(reference, before, newest, thresholds)
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def _verdict(udi: int, rng: np.random.Generator) -> dict:
    # One scoring batch a day of 500 readings, as the walkthrough's sensors deliver them.
    day = udi // 500
    return {
        "UDI": udi,
        "model": "trained-models/model-bench.pickle",
        "failure_probability": float(rng.random()),
        "at_risk": bool(rng.random() < 0.04),
        "predicted_at": f"2026-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T07:00:00.000+00:00",
    }


def _build(directory: Path, rows: int, predictions: int) -> float:
    started = time.perf_counter()
    records = iter_records()
    rng = np.random.default_rng(0)
    with (
        open(directory / "readings.jsonl", "wb") as readings,
        open(directory / "statuses.jsonl", "wb") as statuses,
        open(directory / "predictions.jsonl", "wb") as log,
    ):
        for udi in range(1, rows + 1):
            record = next(records)
            readings.write(canonical_line(reading_of(record)) + b"\n")
            if udi <= rows - WAITING:
                statuses.write(canonical_line(status_of(record)) + b"\n")
            if udi > rows - predictions:
                log.write(canonical_line(_verdict(udi, rng)) + b"\n")
    return time.perf_counter() - started


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--store", choices=("jsonl", "postgres"), default="jsonl")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    trained_through = args.rows - args.predictions
    with tempfile.TemporaryDirectory() as tmp:
        built = _build(Path(tmp), args.rows, args.predictions)
        print(f"store of {args.rows:,} readings and statuses, log of {args.predictions:,} "
              f"predictions, built in {built:.0f} s")  # fmt: skip
        started = time.perf_counter()
        for name in ("readings.jsonl", "statuses.jsonl"):
            _store(Path(tmp), name).index.bring_up_to_date()
        print(f"UDI indexes written in {time.perf_counter() - started:.2f} s, "
              "as the stores' next ingestion would")  # fmt: skip
        _train(Path(tmp))
        if args.store == "postgres":
            _copy_into_postgres(Path(tmp), args.postgres_url, f"bench_{uuid.uuid4().hex[:8]}")
            print("the same rows copied into PostgreSQL: the computations read them there")
        try:
            _compare(tmp, trained_through)
        finally:
            if args.store == "postgres":
                _store(Path(tmp), "readings.jsonl").drop()
    return 0


def _compare(tmp: str, trained_through: int) -> None:
    for computation in FILES:
        ours, baseline = (_run(tmp, phase, trained_through)
                          for phase in (computation, f"{computation}:baseline"))  # fmt: skip
        print(f"{computation:<12} {ours['seconds']:6.2f} s, peak {ours['peak_rss_mb']:.0f} MB; "
              f"pandas reading {', '.join(FILES[computation])}: {baseline['seconds']:.2f} s, "
              f"peak {baseline['peak_rss_mb']:.0f} MB "
              f"({ours['seconds'] / baseline['seconds']:.2f}x its time)")  # fmt: skip
    floor = _run(tmp, "floor", trained_through)["peak_rss_mb"]
    print(f"floor: a process importing the code location and scikit-learn, doing nothing: "
          f"peak {floor:.0f} MB")  # fmt: skip


def _run(directory: str, phase: str, trained_through: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", directory, phase, str(trained_through)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


if __name__ == "__main__":
    sys.exit(main())
