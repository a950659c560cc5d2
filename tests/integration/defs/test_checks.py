"""Asset checks on real runs: each passes on a healthy loop and fails when what it guards breaks."""

import json

import dagster as dg
import pandas as pd
import pytest
from helpers.models import model_bytes, replace_model_bytes
from helpers.runs import current_storage, deploy_config, ingest, materialize, run_job

from mlops_demo.core.messages.records import UDI, reading_of, status_of
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.transport import broker
from mlops_demo.definitions import build_definitions
from mlops_demo.defs.inference.checks import scored_only_unknown_readings

pytestmark = pytest.mark.broker

HASH_CHECK = dg.AssetCheckKey(dg.AssetKey("deployed_model"), "deployed_model_matches_registry_hash")


def _check_deployed_model() -> dg.JobDefinition:
    """A job that runs the deployed model's checks alone, as "Execute checks" in the UI does."""
    with_check_job = dg.Definitions.merge(
        build_definitions(),
        dg.Definitions(
            jobs=[
                dg.define_asset_job(
                    "check_deployed_model",
                    selection=dg.AssetSelection.checks_for_assets(dg.AssetKey("deployed_model")),
                )
            ]
        ),
    )
    return with_check_job.resolve_job_def("check_deployed_model")


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        e for e in result.get_asset_check_evaluations() if e.asset_check_key == HASH_CHECK
    ]
    return evaluation


def test_the_deployed_model_hash_check_passes_then_fails_on_a_tampered_file(
    env, backend_instance, broker_url, queues
):
    instance = backend_instance
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records, statuses=records[:600])
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()

    deployed = _evaluation(materialize(instance, "deployed_model", deploy_config(entry.name)))
    assert deployed.passed
    assert deployed.metadata["observed_sha256"].value == entry.sha256

    registry = current_storage().registry()
    replace_model_bytes(registry, entry, model_bytes(registry, entry) + b"tampered")
    job = _check_deployed_model()
    checked = _evaluation(job.execute_in_process(instance=instance, raise_on_error=False))
    assert not checked.passed
    assert "does not match its registered SHA-256" in checked.metadata["problem"].value


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def test_the_quarantine_share_check_warns_when_a_run_quarantines_too_much(
    env, backend_instance, broker_url, queues, monkeypatch
):
    # The cleaned asset's counts are the run's, whichever asset stored: both backends.
    instance = backend_instance
    monkeypatch.setenv("MLOPS_MAX_QUARANTINE_SHARE", "0.1")
    good = [json.dumps(reading_of(r)).encode() for r in simulate(90)]
    broker.publish(
        broker_url, queues["readings"], good + [f"not json {i}".encode() for i in range(10)]
    )
    calm = _check(
        run_job(instance, "get_all_readings_job"), "cleaned_readings_quarantine_share_below_limit"
    )
    assert calm.passed and calm.metadata["observed_share"].value == 0.1
    broker.publish(
        broker_url,
        queues["readings"],
        [f"still not json {i}".encode() for i in range(3)] + good[:7],
    )
    result = run_job(instance, "get_all_readings_job")
    alarmed = _check(result, "cleaned_readings_quarantine_share_below_limit")
    assert not alarmed.passed and alarmed.severity == dg.AssetCheckSeverity.WARN
    assert alarmed.metadata["observed_share"].value == 0.3
    assert alarmed.metadata["expected_at_most"].value == 0.1
    assert result.success  # a warning, not a failure


def _run_alone(instance, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
    """Run part of an ingestion step alone, as the UI's Materialize or Execute does."""
    job = dg.define_asset_job("part_of_an_ingestion", selection=selection)
    defs = dg.Definitions.merge(build_definitions(), dg.Definitions(jobs=[job]))
    return defs.resolve_job_def("part_of_an_ingestion").execute_in_process(instance=instance)


def test_an_ingestion_check_or_asset_runs_alone_without_draining(
    env, instance, broker_url, queues, monkeypatch
):
    # The queue, the store and the checks are one step in a run; each part still runs alone.
    monkeypatch.setenv("MLOPS_MAX_QUARANTINE_SHARE", "0.1")
    good = [json.dumps(reading_of(r)).encode() for r in simulate(12)]
    broker.publish(broker_url, queues["readings"], [*good[:8], b"not json", b"[]"])
    run_job(instance, "get_all_readings_job")
    broker.publish(broker_url, queues["readings"], good[8:])

    share_key = dg.AssetCheckKey(
        dg.AssetKey("cleaned_readings"), "cleaned_readings_quarantine_share_below_limit"
    )
    alone = _run_alone(instance, dg.AssetSelection.checks(share_key))
    assert alone.get_asset_materialization_events() == []
    [evaluation] = alone.get_asset_check_evaluations()
    # The newest ingestion's counts, read back from the instance: 2 of its 10 quarantined.
    assert evaluation.asset_check_key == share_key and not evaluation.passed
    assert evaluation.metadata["observed_share"].value == 0.2

    historic = _run_alone(instance, dg.AssetSelection.assets("historic_readings"))
    assert [e.asset_key.to_user_string() for e in historic.get_asset_materialization_events()] == [
        "historic_readings"
    ]
    assert historic.get_asset_check_evaluations() == []
    assert broker.queue_depth(broker_url, queues["readings"]) == 4  # nothing drained


def _status_run(instance, broker_url, queues, records) -> dg.AssetCheckEvaluation:
    broker.publish(
        broker_url, queues["statuses"], [json.dumps(status_of(r)).encode() for r in records]
    )
    return _check(
        run_job(instance, "get_all_daily_machine_statuses_job"),
        "cleaned_daily_statuses_has_every_required_column",
    )


def test_the_required_columns_check_warns_on_a_damaged_store(env, instance, broker_url, queues):
    records = simulate(8)
    first = _status_run(instance, broker_url, queues, records[:5])
    assert first.passed and first.metadata["rows_checked"].value == 5
    store = env / "cleaned_daily_statuses.jsonl"
    store.write_text(store.read_text() + '{"UDI": 6, "Target": 0, "Failure Type": null}\n')
    check = _status_run(instance, broker_url, queues, records[6:7])
    assert not check.passed
    assert check.metadata["rows_missing_a_value"].value == {
        "UDI": 0,
        "Target": 0,
        "Failure Type": 1,
    }
    # From where the passing evaluation stopped: the damaged line and the new record.
    assert (check.metadata["rows"].value, check.metadata["rows_checked"].value) == (7, 2)
    # After a failure every record is counted again, so the warning stays until it is mended.
    again = _status_run(instance, broker_url, queues, records[7:8])
    assert not again.passed and again.metadata["rows_checked"].value == 8


def test_the_scoring_check_fails_on_a_reading_with_a_status_or_a_probability_outside_0_1():
    statuses = pd.DataFrame({UDI: [1, 2]})
    fine = pd.DataFrame({UDI: [3, 4], "failure_probability": [0.0, 1.0]})
    assert scored_only_unknown_readings(fine, statuses).passed
    known = pd.DataFrame({UDI: [2, 3], "failure_probability": [0.5, 0.2]})
    failed = scored_only_unknown_readings(known, statuses)
    assert not failed.passed and failed.metadata["scored_with_a_status"].value == [2]
    wild = pd.DataFrame({UDI: [3], "failure_probability": [1.5]})
    assert (
        scored_only_unknown_readings(wild, statuses).metadata["probabilities_outside_0_1"].value
        == 1
    )
