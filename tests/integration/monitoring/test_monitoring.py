"""Monitoring on both backends: realized performance as statuses arrive, the drift check in
every readings ingestion, and the stopped sensor that retrains on either alarm."""

import json

import dagster as dg
import pandas as pd
import pytest
from helpers.runs import (
    current_storage,
    deploy_config,
    ingest,
    materialize,
    metadata,
    observed,
    run_job,
    train_config,
)

from mlops_demo.core.messages.records import TARGET, TORQUE, UDI
from mlops_demo.core.monitoring.performance import confusion
from mlops_demo.core.plant.scenarios import PLANT_CHANGES
from mlops_demo.core.plant.simulator import iter_scenario, simulate
from mlops_demo.definitions import defs
from mlops_demo.defs.deployment.settings import DeploymentSettings

pytestmark = pytest.mark.broker
PERFORMANCE = dg.AssetKey("deployed_model_performance")
DRIFT_CHECK = "cleaned_readings_resemble_training_data"
REALIZED_F1_CHECK = "deployed_model_performance_realized_f1_holds"
RETRAIN_SENSOR = next(s for s in defs.sensors if s.name == "retrain_on_drift_or_decay_sensor")
DEPLOY_SENSOR = next(s for s in defs.sensors if s.name == "deploy_promoted_model_sensor")


@pytest.fixture
def records() -> list[dict]:
    return simulate(4000)


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def _ingest_readings(instance, broker_url, queues, readings) -> dg.AssetCheckEvaluation:
    ingest(instance, broker_url, queues, readings=readings)
    key = dg.AssetCheckKey(dg.AssetKey("cleaned_readings"), DRIFT_CHECK)
    record = instance.get_latest_asset_check_evaluation_record(key)
    return record.event.dagster_event.event_specific_data


def _performance(instance) -> tuple[dict, dg.AssetCheckEvaluation]:
    result = materialize(instance, "deployed_model_performance")
    return metadata(result, "deployed_model_performance"), _check(result, REALIZED_F1_CHECK)


def _expected(records: list[dict], udis: range) -> dict:
    """The deployed model's confusion counts over `udis`, counted from the log and the truth."""
    log = current_storage().predictions().read_frame()
    log = log[log[UDI].isin(udis)]
    truth = pd.DataFrame(records)[[UDI, TARGET]]
    joined = log.merge(truth, on=UDI)
    counts = confusion(joined["at_risk"], joined[TARGET])
    return {"caught": counts.caught, "missed": counts.missed, "false": counts.false_alarms}


def _sensor_tick(instance, cursor: str | None):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        result = RETRAIN_SENSOR(context)
        return result, context.cursor


def _deploy_tick(instance, cursor: str | None, auto_deploy: str):
    settings = {"deployment_settings": DeploymentSettings(auto_deploy=auto_deploy)}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=settings) as context:
        return DEPLOY_SENSOR(context), context.cursor


def _deploy(instance, env) -> str:
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()
    materialize(instance, "deployed_model", deploy_config(entry.name))
    return entry.name


def test_drift_and_realized_performance_as_the_torque_sensor_drifts(
    env, backend_instance, broker_url, queues, records, monkeypatch
):
    instance = backend_instance
    monkeypatch.setenv("MLOPS_MIN_LABELLED_PREDICTIONS", "400")
    first = _ingest_readings(instance, broker_url, queues, records[:2000])
    assert first.passed and first.description.startswith("no verdict: no model is deployed")
    ingest(instance, broker_url, queues, statuses=records[:1500])
    model = _deploy(instance, env)

    # Readings 1501-2000 wait for their status: scored, and waiting in the performance.
    scored_run = materialize(instance, "devices_at_risk")
    scoring = metadata(scored_run, "devices_at_risk")
    # None refused is an empty list, not a row per reading (a pandas alignment trap, seen).
    assert (scoring["num_refused"], scoring["refused"]) == (0, [])
    scored = scoring["num_scored"]
    assert scored == 500
    # The morning's estimate is the sum of the calibrated probabilities the log keeps.
    logged = current_storage().predictions().read_frame()
    promised = logged["failure_probability"].sum()
    assert scoring["expected_failures"] == round(promised, 1)
    low, high = scoring["expected_failures_interval"]
    assert low <= promised <= high
    assert 0 < scoring["expected_precision"] <= 1 and 0 < scoring["expected_recall"] <= 1
    # The picture follows the list, as an observation: drawing it never delays the list.
    assert "risk_picture" not in scoring
    assert "(data:image/png;base64," in observed(scored_run, "devices_at_risk")["risk_picture"]
    waiting, check = _performance(instance)
    assert (waiting["deployed_model"], waiting["waiting_predictions"]) == (model, scored)
    assert waiting["labelled_predictions"] == 0
    assert check.passed and check.description.startswith(
        "no verdict yet: the newest labelled batch holds 0 of the 400"
    )

    # Their statuses arrive: every figure matches a count made from the log and the truth.
    ingest(instance, broker_url, queues, statuses=records[1500:2000])
    clean, check = _performance(instance)
    expected = _expected(records, range(1501, 2001))
    assert (clean["failures_caught"], clean["failures_missed"], clean["false_alarms"]) == (
        expected["caught"],
        expected["missed"],
        expected["false"],
    )
    assert clean["labelled_predictions"] == scored and clean["waiting_predictions"] == 0
    # Beside what happened: the estimate made that morning, and the failures that came.
    assert clean["last_batch_expected_failures"] == scoring["expected_failures"]
    assert clean["last_batch_failures"] == expected["caught"] + expected["missed"]
    assert clean["last_batch_estimate"].startswith(
        f"expected {promised:.1f} failures (90 % interval {low}-{high}), "
        f"{clean['last_batch_failures']} came"
    )
    [row] = clean["models"].records
    assert (row.data["model_name"], row.data["f1"]) == (model, clean["realized_f1"])
    json.dumps(row.data, allow_nan=False)  # what the UI parses; a NaN makes it drop the row
    assert check.passed, check.description

    # The torque sensors start reading low: the next ingestion's drift check names torque.
    drifted = list(iter_scenario(iter(records[2000:3000]), "torque-sensor-drift"))
    alarm = _ingest_readings(instance, broker_url, queues, drifted)
    assert not alarm.passed and alarm.severity == dg.AssetCheckSeverity.WARN
    # Torque, the power computed from it and the speed-torque relation; never a temperature.
    assert TORQUE in alarm.metadata["drifted_features"].value
    assert set(alarm.metadata["drifted_features"].value) <= {
        TORQUE, "mechanical power [W]", "speed for its torque"
    }  # fmt: skip
    assert "Torque [Nm] mean " in alarm.description
    # Torque off its speed-torque curve is a sensor fault: named, and never a reason to retrain.
    [fault] = current_storage().sensor_faults().read()
    assert alarm.description.startswith(f"sensor fault: {fault.described()}")
    assert fault.sensor == "Torque [Nm] or Rotational speed [rpm]" and fault.is_open
    assert alarm.metadata["retrain"].value is False
    assert alarm.metadata["response"].value.startswith("fix the sensor")
    assert alarm.metadata["open_sensor_faults"].value == [fault.described()]
    # The stopped retrain sensor, once started, reads the policy: drift alone never retrains.
    request, cursor = _sensor_tick(instance, None)
    assert isinstance(request, dg.SkipReason)
    table = {
        (r.data["test"], r.data["feature"]): r.data for r in alarm.metadata["tests"].value.records
    }
    torque = table[("distribution", TORQUE)]
    assert torque["drifted"] and torque["p_value"] < 0.01 and "Torque [Nm] mean" in torque["detail"]
    assert not table[("step", "Air temperature [K]")]["drifted"]

    # Scored, then labelled: the realized F1 falls, and the check says by how much.
    materialize(instance, "devices_at_risk")
    ingest(instance, broker_url, queues, statuses=records[2000:3000])
    decayed, check = _performance(instance)
    assert decayed["last_batch_f1"] < clean["last_batch_f1"]
    # Torque read low looks like power failures to the model: it expects more than came, far
    # outside its interval, and says so once the statuses show it.
    assert decayed["last_batch_expected_failures"] > decayed["last_batch_failures"]
    assert ": outside the interval;" in decayed["last_batch_estimate"]
    assert "(data:image/png;base64," in decayed["performance_picture"]
    assert "(data:image/png;base64," in alarm.metadata["drift_picture"].value
    assert decayed["realized_f1"] < clean["realized_f1"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    chance = check.metadata["chance_of_a_batch_this_poor"].value
    assert chance < check.metadata["warns_below"].value == 0.01
    assert check.metadata["last_batch_recall"].value < check.metadata["expected_recall"].value
    # A decay while the fault is open: fix the sensor first, and no retrain.
    assert check.description.endswith(f"Fix the sensor first; no retrain ({fault.described()})")
    assert check.metadata["retrain"].value is False
    request, cursor = _sensor_tick(instance, cursor)
    assert "the policy says: fix the sensor first" in request.skip_message

    # Training leaves the readings the fault touched out; they stay stored.
    joined = metadata(materialize(instance, "joined_cleaned_readings_and_statuses"),
                      "joined_cleaned_readings_and_statuses")  # fmt: skip
    assert joined["num_left_out_sensor_faults"] == 3000 - fault.since_udi + 1
    assert joined["num_readings"] == 3000

    # A person clears the fault: the next evaluation of the same decay says retrain, and the
    # sensor launches train_ml_model with the finding in its tags.
    [ended] = current_storage().sensor_faults().clear(None, 3001)
    assert ended.ended_by == "cleared by a person"
    _, check = _performance(instance)
    assert not check.passed and check.metadata["retrain"].value is True
    assert "Retrain (job train_ml_model) on the labels since the decayed batch" in check.description
    request, _ = _sensor_tick(instance, cursor)
    assert request.tags["mlops_demo/retrain_because"] == REALIZED_F1_CHECK
    assert request.tags["mlops_demo/finding"].startswith("newest batch of ")
    request, _ = _sensor_tick(instance, cursor)
    assert request.tags["mlops_demo/retrain_because"] == REALIZED_F1_CHECK


def test_after_a_plant_change_the_retrain_learns_from_the_labels_since_and_earns_its_promotion(
    env, backend_instance, broker_url, queues, monkeypatch
):
    instance = backend_instance
    monkeypatch.setenv("MLOPS_MIN_LABELLED_PREDICTIONS", "400")
    # Past the simulator's first 5,000 readings, where the relation test's one false alarm in
    # 240 clean batches falls (bench/decisions.py): a fault would leave readings out of training.
    plant = pd.DataFrame(simulate(3000, offset=5000))
    # From UDI 6501 on, tools overstrain at 80 % of the documented limit: the readings are the
    # same, the statuses are not.
    changed = pd.concat([plant.iloc[:1500], PLANT_CHANGES["weaker-tools"].apply(plant.iloc[1500:])])
    records = changed.to_dict("records")
    ingest(instance, broker_url, queues, readings=records[:2000], statuses=records[:1500])
    old = _deploy(instance, env)
    # Continuous training deploys only a promotion: a first model has no champion to beat.
    first, cursor = _deploy_tick(instance, None, "promoted")
    assert "was not promoted: no model is deployed yet" in first.skip_message
    materialize(instance, "devices_at_risk")
    ingest(instance, broker_url, queues, statuses=records[1500:2000])
    _, check = _performance(instance)
    assert not check.passed and check.metadata["retrain"].value is True
    assert check.metadata["last_batch_first_udi"].value == 6501
    request, _ = _sensor_tick(instance, None)
    assert request.tags["mlops_demo/learn_since_udi"] == "6501"

    # A thousand more labelled readings since the change; the retrain learns from them alone.
    ingest(instance, broker_url, queues, readings=records[2000:], statuses=records[2000:])
    trained = run_job(instance, "train_ml_model", tags=request.tags)
    joined = metadata(trained, "joined_cleaned_readings_and_statuses")
    assert (joined["num_matches"], joined["learning_since_udi"]) == (1500, 6501)
    # The gate judges on readings since the change, and the new model wins there on evidence.
    candidates = metadata(materialize(instance, "production_model_candidates"),
                          "production_model_candidates")  # fmt: skip
    new = next(e.name for e in current_storage().registry().entries() if e.name != old)
    assert candidates["recommended_model"] == new and candidates["new_model_status"] == "candidate"
    assert candidates["gate"].startswith("promote") and "on UDI 7551-8000" in candidates["gate"]
    [row] = [r.data for r in candidates["candidates"].records if r.data["model_name"] == new]
    assert row["window_f1"] > row["champion_window_f1"] + 0.2

    # With MLOPS_AUTO_DEPLOY=promoted the promotion is deployed, recorded as automatic, and
    # scored in the same run; it rolls back like any other. Off, a person deploys.
    off, _ = _deploy_tick(instance, cursor, "off")
    assert off.skip_message.startswith("MLOPS_AUTO_DEPLOY is off")
    request, _ = _deploy_tick(instance, cursor, "promoted")
    assert request.tags["mlops_demo/finding"].startswith("promote: beats the champion")
    deployed = run_job(instance, "deploy_model", run_config=request.run_config, tags=request.tags)
    assert metadata(deployed, "deployed_model")["automatic"] is True
    events = deployed.get_asset_materialization_events()
    assert {e.asset_key.to_user_string() for e in events} >= {"deployed_model", "devices_at_risk"}
    [*_, automatic] = current_storage().registry().history()
    assert (automatic.model, automatic.automatic, automatic.previous) == (new, True, old)
    # A later retrain without the tag (the schedule's, a person's) learns from the change on too:
    # never from before the champion's own start.
    later = run_job(instance, "train_ml_model", run_config=train_config(forward_chained_folds=0))
    assert metadata(later, "joined_cleaned_readings_and_statuses")["learning_since_udi"] == 6501
    rolled_back = run_job(instance, "deploy_model", run_config=deploy_config("previous"))
    assert metadata(rolled_back, "deployed_model")["model_name"] == old


def test_statuses_for_scored_readings_materialize_the_performance_by_itself(
    env, instance, broker_url, queues, records
):
    # Automation is the instance's, not the store's: one backend is enough.
    ingest(instance, broker_url, queues, readings=records[:1500], statuses=records[:1000])
    _deploy(instance, env)
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert tick.get_num_requested(PERFORMANCE) == 0  # devices_at_risk has not run yet
    materialize(instance, "devices_at_risk")
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert tick.get_num_requested(PERFORMANCE) == 1
    materialize(instance, "deployed_model_performance")
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert tick.get_num_requested(PERFORMANCE) == 0
    ingest(instance, broker_url, queues, statuses=records[1000:1500])
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert tick.get_num_requested(PERFORMANCE) == 1


STATUSES_CHECK = "deployed_model_performance_statuses_keep_arriving"


def test_a_warning_when_readings_keep_coming_and_statuses_do_not(
    env, backend_instance, broker_url, queues, records, monkeypatch
):
    instance = backend_instance
    monkeypatch.setenv("MLOPS_MAX_UNLABELLED_READINGS", "1000")
    ingest(instance, broker_url, queues, readings=records[:1500], statuses=records[:1000])
    _deploy(instance, env)
    materialize(instance, "devices_at_risk")
    check = _check(materialize(instance, "deployed_model_performance"), STATUSES_CHECK)
    assert check.passed and check.metadata["readings_waiting"].value == 500
    # Readings go on arriving; statuses do not.
    ingest(instance, broker_url, queues, readings=records[1500:2500])
    check = _check(materialize(instance, "deployed_model_performance"), STATUSES_CHECK)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["readings_waiting"].value == 1500
    assert check.metadata["first_waiting_udi"].value == 1001
    stored_at = check.metadata["newest_status_stored_at"].value
    assert stored_at.startswith("20") and stored_at in check.description
    assert "since UDI 1001" in check.description and "stopped arriving" in check.description


def test_a_model_waiting_for_evidence_shadows_the_champion_and_live_labels_settle_it(
    env, backend_instance, broker_url, queues, records, monkeypatch
):
    instance = backend_instance
    ingest(instance, broker_url, queues, readings=records[:1500], statuses=records[:1000])
    champion = _deploy(instance, env)
    # A second model whose window cannot settle it: it stays trained, waiting for evidence.
    monkeypatch.setenv("MLOPS_GATE_MIN_FAILURES", "1000")
    run_job(instance, "train_ml_model", run_config=train_config(n_estimators=20))
    materialize(instance, "production_model_candidates")
    registry = current_storage().registry()
    waiting = registry.entries()[-1].name
    assert registry.statuses()[waiting] == "trained" and registry.shadow().name == waiting

    # Both score readings 1001-1500; the shadow's verdicts are logged as shadow.
    scored_run = materialize(instance, "devices_at_risk")
    scoring = metadata(scored_run, "devices_at_risk")
    assert (scoring["model_name"], scoring["shadow_model"]) == (champion, waiting)
    assert scoring["shadow_scored"] > 0
    log = current_storage().predictions().read_frame()
    shadowed = log[log["model"] == waiting]
    assert len(shadowed) == scoring["shadow_scored"] and shadowed["shadow"].all()
    assert not log[log["model"] == champion]["shadow"].any()

    # Their statuses arrive; with a reachable minimum the live evidence decides.
    ingest(instance, broker_url, queues, statuses=records[1000:1500])
    monkeypatch.setenv("MLOPS_GATE_MIN_FAILURES", "5")
    performance = metadata(materialize(instance, "deployed_model_performance"), PERFORMANCE.path[0])
    assert performance["shadow_model"] == waiting
    assert performance["shadow_labelled"] == scoring["shadow_scored"]
    assert performance["shadow_verdict"].startswith("live, as the champion's shadow: ")
    settled = current_storage().registry().statuses()[waiting]
    assert performance["shadow_outcome"] in ("promote", "reject")
    assert settled == {"promote": "candidate", "reject": "rejected"}[performance["shadow_outcome"]]
    assert performance["shadow_status"] == settled
