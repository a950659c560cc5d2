"""The first batch after `dagster dev` starts, beside the batches after it, phase by phase.

    .venv/bin/python bench/first_batch.py [--batches 3] [--starts 2]

Starts `dagster dev` on a private Dagster home, data directory and queues, `--starts` times with
the queue sensors watching their queues (as shipped) and as many times, in turn, with them
looking once a tick (`MLOPS_SENSOR_WATCH_SECONDS=0`, the same-run baseline). Each time it
publishes 500 readings the moment the webserver answers (`mlops-demo publish`, as a user would;
the code location may still be loading), waits for `cleaned_readings` to hold them, then does the
same `--batches - 1` more times. Prints, for each batch, published -> stored and its phases, as
the walkthrough measures them: until a sensor tick created the run, queued, the run's process
starting, and its work; and how long the webserver took to answer.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from _common import private_dagster_dev

from mlops_demo.devserver.dagster_dev import PHASES, DagsterDev, DagsterDevError

WATCH_VARIABLE = "MLOPS_SENSOR_WATCH_SECONDS"

BATCH = 500


def _ui_answers(dev: DagsterDev, timeout: float = 120.0) -> float:
    """When the webserver first answers a request, whether or not the code location has
    loaded yet: the moment a user sees the UI."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            dev.graphql("{ version }")
            return time.monotonic()
        except DagsterDevError:
            time.sleep(0.1)
    raise DagsterDevError(f"dagster dev did not answer within {timeout:.0f} s")


def _publish_and_wait(dev: DagsterDev, offset: int) -> tuple[float, tuple[float, ...]]:
    """`mlops-demo publish` 500 readings from `offset`, as a user would, and wait for
    cleaned_readings to hold them; published -> stored and its phases."""
    command = [sys.executable, "-m", "mlops_demo", "publish", "readings", "-n", str(BATCH),
               "-o", str(offset)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    published_at = time.time()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = dev.materializations("cleaned_readings", after=published_at - 60)
        if found and found[0]["metadata"].get("dagster/row_count", 0) >= offset + BATCH:
            return dev.phases_until(published_at, found[0])
        time.sleep(0.25)
    raise DagsterDevError(f"cleaned_readings did not hold {offset + BATCH} rows within 120 s")


# The sensors as shipped, and as they were before they watched: one look at the queue a tick.
MODES = {"watching": None, "looking once": "0"}


def one_start(batches: int, watch_seconds: str | None) -> tuple[float, list]:
    if watch_seconds is None:
        os.environ.pop(WATCH_VARIABLE, None)
    else:
        os.environ[WATCH_VARIABLE] = watch_seconds
    started = time.monotonic()
    with private_dagster_dev("first") as dev:
        answered = _ui_answers(dev) - started
        measured = [_publish_and_wait(dev, batch * BATCH) for batch in range(batches)]
    return answered, measured


def _summary(mode: str, firsts: list[float], laters: list[float]) -> str:
    later = f"; later batches median {statistics.median(laters):.1f} s" if laters else ""
    return f"{mode}: first batch median {statistics.median(firsts):.1f} s{later}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--starts", type=int, default=2, help="starts of each mode")
    args = parser.parse_args()
    print(f"{'mode':<13} {'start':<6} {'batch':<6} {'stored':>7} "
          + " ".join(f"{p:>10}" for p in PHASES))  # fmt: skip
    firsts = {mode: [] for mode in MODES}
    laters = {mode: [] for mode in MODES}
    for start in range(1, args.starts + 1):
        # Alternating which mode goes first, so a machine getting slower favours neither.
        for mode in list(MODES)[:: 1 if start % 2 else -1]:
            answered, measured = one_start(args.batches, MODES[mode])
            print(f"{mode:<13} {start:<6} the UI answered {answered:.1f} s after it started")
            for batch, (total, phases) in enumerate(measured, start=1):
                (firsts if batch == 1 else laters)[mode].append(total)
                print(f"{mode:<13} {start:<6} {batch:<6} {total:>6.1f}s "
                      + " ".join(f"{p:>9.1f}s" for p in phases))  # fmt: skip
    for mode in MODES:
        print(_summary(mode, firsts[mode], laters[mode]))
    ratio = statistics.median(firsts["watching"]) / statistics.median(firsts["looking once"])
    print(f"first batch, watching / looking once: {ratio:.2f} (goal: watching under 7 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
