"""Runs an ingestion job in this process and injects a fault at a chosen point.

    python tests/helpers/fault_runner.py POINT JOB

Points: `none`; `before_any_write` (SIGKILL before the first landing batch is written);
`after_write_before_ack` (SIGKILL right after the second batch is durable, before its ack);
`mid_batch` (SIGKILL as the third batch starts, two acked); `during_downstream` (SIGKILL after
the store append of the second batch, before that batch is removed); `slow` (each landing batch
takes a second longer, so a test can act while the drain is under way).
"""

import os
import signal
import sys
import time

import dagster as dg

from mlops_demo.core.storage.landing import LandingArea
from mlops_demo.definitions import build_definitions

_original_land, _original_remove = LandingArea.land, LandingArea.remove
_calls = {"land": 0, "remove": 0}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _land_with_fault(self, bodies):
    _calls["land"] += 1
    point, n = POINT, _calls["land"]
    if (point, n) in (("before_any_write", 1), ("mid_batch", 3)):
        _die()
    path = _original_land(self, bodies)
    if (point, n) == ("after_write_before_ack", 2):
        _die()
    if point == "slow":
        time.sleep(1.0)
    return path


def _remove_batch(self, batch):
    _calls["remove"] += 1
    if (POINT, _calls["remove"]) == ("during_downstream", 2):
        _die()
    return _original_remove(self, batch)


if __name__ == "__main__":
    POINT, job = sys.argv[1], sys.argv[2]
    LandingArea.land, LandingArea.remove = _land_with_fault, _remove_batch
    # A shared instance when the test gives one (so runs see each other's outputs).
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = (
        build_definitions()
        .resolve_job_def(job)
        .execute_in_process(
            instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
    )
    sys.exit(0 if result.success else 1)
