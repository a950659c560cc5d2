"""Running the code location's jobs and assets in a test's own Dagster instance."""

import copy
import json

import dagster as dg

from mlops_demo.core.messages.records import UDI, reading_of, status_of
from mlops_demo.core.transport import broker
from mlops_demo.definitions import build_definitions
from mlops_demo.defs.resources import StorageResource, from_env


def current_storage() -> StorageResource:
    """The storage as the test's environment sets it now (the fixtures change it)."""
    return from_env(StorageResource)


# The evaluation's seven forward-chained fits were most of a test's training time; two keep
# every figure downstream of it (the expected recall and precision) and the tests that read the
# evaluation itself ask for their folds.
FOLDS_IN_TESTS = 2


def run_job(instance: dg.DagsterInstance, job: str, **kwargs) -> dg.ExecuteInProcessResult:
    """Run a job of the code location as the environment sets it now: `defs` was built when
    the module was imported, before a fixture chose the test's data directory and queues."""
    if job == "train_ml_model":
        kwargs["run_config"] = with_test_folds(kwargs.get("run_config"))
    return build_definitions().resolve_job_def(job).execute_in_process(instance=instance, **kwargs)


def with_test_folds(run_config: dict | None) -> dict:
    run_config = copy.deepcopy(run_config or {})
    ops = run_config.setdefault("ops", {})
    config = ops.setdefault("trained_model", {}).setdefault("config", {})
    config.setdefault("forward_chained_folds", FOLDS_IN_TESTS)
    return run_config


def materialize(
    instance: dg.DagsterInstance, asset: str, run_config: dict | None = None, raise_on_error=True
) -> dg.ExecuteInProcessResult:
    """Materialize one asset the way the UI does: the global asset job with a selection."""
    return (
        build_definitions()
        .resolve_implicit_global_asset_job_def()
        .execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey(asset)],
            run_config=run_config or {},
            raise_on_error=raise_on_error,
        )
    )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    [materialization] = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(asset)
    ]
    return {key: value.value for key, value in materialization.metadata.items()}


def observed(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata of the run's observations of the asset, newest last."""
    return {
        key: value.value
        for event in result.all_events
        if event.event_type_value == "ASSET_OBSERVATION" and event.asset_key == dg.AssetKey(asset)
        for key, value in event.asset_observation_data.asset_observation.metadata.items()
    }


def ingest(instance, url: str, queues: dict[str, str], readings=(), statuses=()) -> None:
    """Publish full records' readings and statuses, then run both ingestion jobs."""
    if readings:
        broker.publish(
            url, queues["readings"], [json.dumps(reading_of(x)).encode() for x in readings]
        )
        run_job(instance, "get_all_readings_job")
    if statuses:
        broker.publish(
            url, queues["statuses"], [json.dumps(status_of(x)).encode() for x in statuses]
        )
        run_job(instance, "get_all_daily_machine_statuses_job")


def deploy_config(model_name: str, force: bool = False) -> dict:
    config = {"model_name": model_name, **({"force": True} if force else {})}
    return {"ops": {"deployed_model": {"config": config}}}


def train_config(**hyperparameters) -> dict:
    return {"ops": {"trained_model": {"config": hyperparameters}}}


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The one step failure's description, as the UI shows it."""
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.user_failure_data.description


def stored_udis(stream) -> list[int]:
    """The UDIs in the configured store (JSONL or PostgreSQL), in storage order."""
    return current_storage().store(stream).read_frame((UDI,))[UDI].tolist()


def quarantined(stream) -> list[dict]:
    return current_storage().store(stream).quarantined()
