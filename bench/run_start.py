"""Where a run's time goes before its first step: RUN_STARTING -> RUN_START in a real dagster dev.

    .venv/bin/python bench/run_start.py [--runs 10]

Starts `dagster dev` on a private Dagster home, data directory and queues, with two code
locations: the project's and a floor, one asset that does nothing and imports only Dagster. It
launches `get_all_readings_job` (an empty queue: the run does almost nothing) and the floor's job
in turn, `--runs` times each, and prints the median and the spread of each phase from the runs'
own events: queued (RUN_ENQUEUED -> RUN_STARTING), start (RUN_STARTING -> RUN_START: a fresh
process importing the code location and opening the instance) and work (RUN_START ->
RUN_SUCCESS). The floor's start is what any run of any code location pays on this machine, and
the difference is what the project adds. Beside it, in the same run, the import of
`mlops_demo.definitions` in a fresh interpreter, the start's main cost, and of `dagster` alone,
the floor any code location pays; then the definitions' import by `python -X importtime` against
IMPORT_BUDGET_SECONDS, with the heavy packages it pulls in (scikit-learn and SciPy must not be
among them: only the steps that fit, score or test import them).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import private_dagster_dev

from mlops_demo.devserver.dagster_dev import DagsterDev

JOB = "get_all_readings_job"
FLOOR_LOCATION = "floor"
FLOOR_JOB = "floor_job"
FLOOR_MODULE = f"""import dagster as dg


@dg.asset
def nothing() -> None:
    return None


defs = dg.Definitions(
    assets=[nothing],
    jobs=[dg.define_asset_job("{FLOOR_JOB}", executor_def=dg.in_process_executor)],
)
"""
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
# run's start is mostly this import): Dagster itself 0.6-0.9 s here, the rest the project and
# the numpy its stores use; pandas, scikit-learn, SciPy and joblib wait for the steps using them.
IMPORT_BUDGET_SECONDS = 1.2
WATCHED = ("mlops_demo.definitions", "dagster", "pandas", "numpy", "sklearn", "scipy", "joblib")


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


def _workspace(folder: Path) -> Path:
    """The project's code location and the floor's, in one workspace."""
    (folder / "floor_location.py").write_text(FLOOR_MODULE)
    workspace = folder / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: mlops_demo.definitions\n"
        "      location_name: mlops_demo\n"
        "  - python_file:\n"
        f"      relative_path: {folder / 'floor_location.py'}\n"
        f"      location_name: {FLOOR_LOCATION}\n"
    )
    return workspace


def _phases(dev: DagsterDev, job: str, location: str) -> dict[str, float]:
    run_id = dev.launch(job, location=location)
    if dev.wait_for_run(run_id)["status"] != "SUCCESS":
        raise RuntimeError(f"run {run_id} failed: {dev.failure_message(run_id)}")
    t = _event_times(dev, run_id)
    return {
        "queued": t["RunStartingEvent"] - t["RunEnqueuedEvent"],
        "start": t["RunStartEvent"] - t["RunStartingEvent"],
        "work": t["RunSuccessEvent"] - t["RunStartEvent"],
    }


def _print_phases(title: str, runs: list[dict[str, float]]) -> None:
    print(title)
    for phase in runs[0]:
        values = [run[phase] for run in runs]
        print(
            f"  {phase:<7} {statistics.median(values):5.2f} s ({min(values):.2f}-{max(values):.2f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    project: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        private_dagster_dev("start", _workspace(Path(folder))) as dev,
    ):
        dev.wait_until_ready()
        for _ in range(runs):
            project.append(_phases(dev, JOB, "mlops_demo"))
            floor.append(_phases(dev, FLOOR_JOB, FLOOR_LOCATION))
    imports = {
        module: statistics.median(_import_seconds(module) for _ in range(3))
        for module in ("mlops_demo.definitions", "dagster")
    }
    _print_phases(f"{runs} runs of {JOB} in dagster dev (median, min-max):", project)
    _print_phases(f"{runs} runs of the floor, one empty asset, in turn with them:", floor)
    starts = [statistics.median(run["start"] for run in side) for side in (project, floor)]
    print(f"  the project's start: {starts[0] - starts[1]:+.2f} s over the floor's "
          f"({starts[0] / starts[1]:.2f}x)")  # fmt: skip
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
