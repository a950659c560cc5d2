"""The cleanup job: Dagster keeps every run's events (a database file per run on SQLite) until
something deletes them, so a plant that runs for years deletes them by age. Sensor and schedule
ticks have their own retention, in the instance's dagster.yaml."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from mlops_demo.defs.housekeeping.settings import HousekeepingSettings

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def runs_holding_the_newest(instance: dg.DagsterInstance) -> set[str]:
    """The runs that hold an asset's newest materialization or observation: what the automation,
    the checks and the asset pages read, so never deleted."""
    held = set()
    for key in instance.get_asset_keys():
        for fetch in (instance.fetch_materializations, instance.fetch_observations):
            held |= {record.run_id for record in fetch(key, limit=1).records}
    return held


def _remove_run_files(instance: dg.DagsterInstance, run_id: str) -> None:
    """What deleting a run leaves on disk: its captured stdout and stderr, and, on SQLite, its
    own database file, emptied but never shrunk (about 130 KB each)."""
    instance.compute_log_manager.delete_logs(prefix=[run_id])
    shard = getattr(instance.event_log_storage, "path_for_shard", None)
    if shard is not None:
        Path(shard(run_id)).unlink(missing_ok=True)


def delete_runs_finished_before(
    instance: dg.DagsterInstance, cutoff: datetime, log: Callable[[str], None]
) -> tuple[int, int]:
    """Delete the finished runs created before `cutoff`, with their events, keeping each run
    that holds an asset's newest materialization or observation; returns (deleted, kept). Only
    runs past the cutoff are listed: a nightly run deletes about a day of runs, however long
    the history."""
    due = instance.get_run_ids(dg.RunsFilter(statuses=FINISHED, created_before=cutoff))
    if not due:  # most nights, until the history is older than the retention
        return 0, 0
    kept = runs_holding_the_newest(instance) & set(due)
    doomed = [run_id for run_id in due if run_id not in kept]
    for done, run_id in enumerate(doomed, start=1):
        instance.delete_run(run_id)
        _remove_run_files(instance, run_id)
        if done % 100 == 0:
            log(f"deleted {done} of {len(doomed)} runs")
    return len(doomed), len(kept)


@dg.op
def delete_old_runs(
    context: dg.OpExecutionContext, housekeeping_settings: HousekeepingSettings
) -> None:
    """Delete the finished runs older than the retention, keeping every run that holds an
    asset's newest materialization or observation."""
    days = housekeeping_settings.run_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    deleted, kept = delete_runs_finished_before(context.instance, cutoff, context.log.info)
    context.log.info(
        f"deleted {deleted} runs created before {cutoff:%Y-%m-%d %H:%M} UTC (older than {days} "
        f"days); kept {kept} older ones that hold an asset's newest materialization or "
        "observation"
    )


@dg.job(description="Delete finished runs older than MLOPS_RUN_RETENTION_DAYS (90 by default).")
def clean_up_dagster_history():
    delete_old_runs()


clean_up_dagster_history_schedule = dg.ScheduleDefinition(
    name="clean_up_dagster_history_schedule",
    job=clean_up_dagster_history,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 03:30: Dagster's run history stays at MLOPS_RUN_RETENTION_DAYS.",
)
