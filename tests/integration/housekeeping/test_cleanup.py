"""Dagster's run history kept to its age on a real instance of each kind: old runs go with their
events, and the runs that hold an asset's newest materialization stay."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from helpers.runs import deploy_config, ingest, run_job

from mlops_demo.core.plant.simulator import simulate
from mlops_demo.defs.housekeeping.jobs import delete_runs_finished_before

pytestmark = pytest.mark.broker


@pytest.fixture
def instance(backend_instance):
    return backend_instance


def _run_ids(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.get_run_ids())


def _newest_materialization_run(instance: dg.DagsterInstance, asset: str) -> str:
    return instance.fetch_materializations(dg.AssetKey(asset), limit=1).records[0].run_id


def test_old_runs_are_deleted_and_each_assets_newest_materialization_stays(
    env, backend, instance, broker_url, queues
):
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records[:500])
    first = _run_ids(instance)
    ingest(instance, broker_url, queues, readings=records[500:], statuses=records[:500])
    # No model is registered: the deployment fails, and a failed run is history like any other.
    failed = run_job(
        instance, "deploy_model", run_config=deploy_config("latest"), raise_on_error=False
    )
    assert not failed.success
    every = _run_ids(instance)
    newest = {
        asset: _newest_materialization_run(instance, asset)
        for asset in ("cleaned_readings", "cleaned_daily_statuses")
    }

    # The nightly job with the default retention: every run is younger than 90 days.
    cleanup = run_job(instance, "clean_up_dagster_history")
    assert cleanup.success and _run_ids(instance) == every | {cleanup.run_id}

    # A cutoff after every run: all go but those holding an asset's newest materialization.
    deleted, kept = delete_runs_finished_before(
        instance, datetime.now(UTC) + timedelta(seconds=1), lambda message: None
    )
    remaining = _run_ids(instance)
    assert remaining <= every | {cleanup.run_id} and not first & remaining
    assert failed.run_id not in remaining and cleanup.run_id not in remaining
    assert set(newest.values()) <= remaining
    assert (deleted, kept) == (len(every) + 1 - len(remaining), len(remaining))
    # What the checks and the automation read is still there; the deleted runs' events and
    # captured logs are gone with them, and on SQLite each run's database file too.
    for asset, run_id in newest.items():
        assert _newest_materialization_run(instance, asset) == run_id
    assert instance.get_run_by_id(failed.run_id) is None
    logs = Path(instance.root_directory, "storage")
    assert {path.name for path in logs.iterdir() if path.is_dir()} <= remaining
    if backend == "jsonl+sqlite":
        runs = Path(instance.root_directory, "history", "runs")
        assert {path.stem for path in runs.glob("*.db")} - {"index"} == remaining
    else:
        assert instance.all_logs(failed.run_id) == []
