"""Where a run's time goes before its first step: RUN_STARTING -> RUN_START in a real dagster dev.

    .venv/bin/python bench/run_start.py [--runs 10]

Starts `dagster dev` on a private Dagster home, data directory and queues, launches
`get_all_readings_job` (an empty queue: the run does almost nothing) `--runs` times one after the
other, and prints the median and the spread of each phase from the run's own events: queued
(RUN_ENQUEUED -> RUN_STARTING), start (RUN_STARTING -> RUN_START: a fresh process importing the
code location) and work (RUN_START -> RUN_SUCCESS). Beside it, in the same run, the import of
`mlops_demo.definitions` in a fresh interpreter, the start's main cost, and of `dagster` alone,
the floor any code location pays; then the definitions' import by `python -X importtime` against
IMPORT_BUDGET_SECONDS, with the heavy packages it pulls in (scikit-learn and SciPy must not be
among them: only the steps that fit, score or test import them).
"""

import argparse
import statistics
import subprocess
import sys
import time

from _common import private_dagster_dev

from mlops_demo.devserver.dagster_dev import DagsterDev

JOB = "get_all_readings_job"
EVENTS = ("RunEnqueuedEvent", "RunStartingEvent", "RunStartEvent", "RunSuccessEvent")


def _event_times(dev: DagsterDev, run_id: str) -> dict[str, float]:
    events = dev.graphql(
        "query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { "
        "__typename ... on MessageEvent { timestamp } } } } }",
        {"id": run_id},
    )["logsForRun"]["events"]
    return {
        e["__typename"]: float(e["timestamp"]) / 1000 for e in events if e["__typename"] in EVENTS
    }


def _import_seconds(module: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


# What `import mlops_demo.definitions` may cost in a fresh interpreter, by -X importtime (the
# run's start is mostly this import): Dagster itself about 0.6 s here, the project and pandas the
# rest. Measured 0.98 s on a quiet machine on 2026-11-28.
IMPORT_BUDGET_SECONDS = 1.2
WATCHED = ("mlops_demo.definitions", "dagster", "pandas", "numpy", "sklearn", "scipy")


def _importtime(module: str) -> dict[str, float]:
    """Each watched package's cumulative import seconds, as -X importtime reports it."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if name.strip() in WATCHED and cumulative.strip().isdigit():
            seconds[name.strip()] = int(cumulative) / 1e6
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    phases: dict[str, list[float]] = {"queued": [], "start": [], "work": []}
    with private_dagster_dev("start") as dev:
        dev.wait_until_ready()
        for _ in range(runs):
            run_id = dev.launch(JOB)
            if dev.wait_for_run(run_id)["status"] != "SUCCESS":
                raise RuntimeError(f"run {run_id} failed: {dev.failure_message(run_id)}")
            t = _event_times(dev, run_id)
            phases["queued"].append(t["RunStartingEvent"] - t["RunEnqueuedEvent"])
            phases["start"].append(t["RunStartEvent"] - t["RunStartingEvent"])
            phases["work"].append(t["RunSuccessEvent"] - t["RunStartEvent"])
    imports = {
        module: statistics.median(_import_seconds(module) for _ in range(3))
        for module in ("mlops_demo.definitions", "dagster")
    }
    print(f"{runs} runs of {JOB} in dagster dev (median, min-max):")
    for phase, values in phases.items():
        print(
            f"  {phase:<7} {statistics.median(values):5.2f} s ({min(values):.2f}-{max(values):.2f})"
        )
    for module, seconds in imports.items():
        print(f"  import of {module} in a fresh interpreter: {seconds:.2f} s (median of 3)")
    timed = _importtime("mlops_demo.definitions")
    total = timed["mlops_demo.definitions"]
    verdict = "within" if total <= IMPORT_BUDGET_SECONDS else "OVER"
    print(f"  -X importtime of mlops_demo.definitions: {total:.2f} s, {verdict} the budget of "
          f"{IMPORT_BUDGET_SECONDS} s; of it: "
          + ", ".join(f"{name} {timed[name]:.2f} s" for name in WATCHED[1:] if name in timed)
          + "; not imported: "
          + (", ".join(name for name in WATCHED[1:] if name not in timed) or "none"))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
