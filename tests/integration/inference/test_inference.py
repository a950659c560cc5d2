"""devices_at_risk scores the readings whose status is still unknown, follows deployments and new
data by automation, and keeps every prediction once in the prediction log; on both backends."""

import dagster as dg
import pytest
from helpers.runs import (
    current_storage,
    deploy_config,
    ingest,
    materialize,
    metadata,
    run_job,
    train_config,
)

from mlops_demo.core.plant.simulator import simulate
from mlops_demo.definitions import defs

pytestmark = pytest.mark.broker
DEVICES_AT_RISK = dg.AssetKey("devices_at_risk")
SCORED_ONLY_UNKNOWN = "devices_at_risk_scored_only_unknown_readings"
REFUSED_SHARE = "devices_at_risk_refused_share_below_limit"
MODES = {"heat dissipation", "power", "overstrain", "tool wear", "unexplained"}


@pytest.fixture
def instance(backend_instance):
    return backend_instance


def _tick(instance, previous):
    return dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=previous.cursor if previous else None
    )


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {check.check_name: check for check in result.get_asset_check_evaluations()}


def _score(instance) -> dict:
    result = materialize(instance, "devices_at_risk")
    checks = _checks(result)
    assert set(checks) == {SCORED_ONLY_UNKNOWN, REFUSED_SHARE}
    assert checks[SCORED_ONLY_UNKNOWN].passed
    scored = metadata(result, "devices_at_risk")
    share = scored["num_refused"] / scored["num_unknown"] if scored["num_unknown"] else 0.0
    assert checks[REFUSED_SHARE].passed == (share <= 0.05)
    return scored


def test_only_readings_without_a_status_are_scored_at_each_moment(
    env, instance, broker_url, queues
):
    records = simulate(2000)
    ingest(instance, broker_url, queues, readings=records[:1000], statuses=records[:500])
    tick = _tick(instance, None)
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    first = current_storage().registry().entries()[0]
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 0  # no model deployed yet

    materialize(instance, "deployed_model", deploy_config(first.name))
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 1
    # Statuses for half the readings: the other half is scored, and logged once.
    half = _score(instance)
    assert half["model_name"] == first.name
    assert half["num_unknown"] == half["num_scored"] + half["num_refused"] == 500
    assert half["num_at_risk"] == len(half["devices_at_risk"])
    assert set(half["devices_at_risk"]) <= set(range(501, 1001))
    riskiest = half["riskiest"].records
    assert len(riskiest) == 20 and {row.data["UDI"] for row in riskiest} <= set(range(501, 1001))
    probabilities = [row.data["failure_probability"] for row in riskiest]
    assert probabilities == sorted(probabilities, reverse=True)
    assert half["predictions_stored"] == half["num_scored"]
    assert _score(instance)["predictions_stored"] == 0  # a replay stores nothing twice
    log = current_storage().predictions().read_frame()
    assert len(log) == half["num_scored"] and set(log["model"]) == {first.name}
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 0  # nothing new since the deployment

    # New readings alone refresh it; then statuses for all of them leave nothing to score.
    ingest(instance, broker_url, queues, readings=records[1000:1200])
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 1
    assert _score(instance)["num_unknown"] == 700
    ingest(instance, broker_url, queues, statuses=records[500:1200])
    everything = _score(instance)
    assert (everything["num_unknown"], everything["num_scored"]) == (0, 0)
    assert everything["note"] == "every reading has its status: nothing is waiting to be scored"
    assert everything["devices_at_risk"] == []


def test_none_of_the_readings_has_a_status_yet(env, instance, broker_url, queues):
    records = simulate(1000)
    ingest(instance, broker_url, queues, readings=records[:600], statuses=records[:600])
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()
    materialize(instance, "deployed_model", deploy_config(entry.name))
    ingest(instance, broker_url, queues, readings=records[600:])
    scored = _score(instance)
    assert scored["num_unknown"] == 400
    refused = {row["UDI"]: row["reason"] for row in scored["refused"]}
    assert scored["num_scored"] > 0
    assert scored["num_scored"] + scored["num_refused"] == 400
    assert {"is far outside the trained range" in reason for reason in refused.values()} <= {True}
    assert set(refused) <= set(range(601, 1001))
    assert len(current_storage().predictions().read_frame()) == scored["num_scored"]


def _two_models(instance, env, broker_url, queues, records) -> tuple[str, str]:
    """Readings 1-1500 with statuses for 1-1000, and two registered models."""
    ingest(instance, broker_url, queues, readings=records[:1500], statuses=records[:1000])
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    run_job(instance, "train_ml_model", run_config=train_config(n_estimators=20))
    materialize(instance, "production_model_candidates")
    first, second = (entry.name for entry in current_storage().registry().entries())
    return first, second


@pytest.mark.parametrize("lands", ["while the requested run goes on", "before the next tick"])
def test_a_deployment_made_after_a_request_gets_a_run_of_its_own(env, broker_url, queues, lands):
    # Automation is the instance's, not the store's: one backend is enough.
    records = simulate(1500)
    with dg.instance_for_test() as instance:
        first, second = _two_models(instance, env, broker_url, queues, records)
        tick = _tick(instance, None)  # the first evaluation only starts counting
        materialize(instance, "deployed_model", deploy_config(first))
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 1
        if lands == "while the requested run goes on":
            # Dagster's eager() would take the run's update as handling the deployment, and the
            # machines at risk would stay the first model's.
            tick = _tick(instance, tick)
            materialize(instance, "deployed_model", deploy_config(second, force=True))
            _score(instance)
        else:
            # The walkthrough's rollback on a loaded machine: the next tick sees the request and
            # the deployment at once; only their timestamps tell which came first.
            _score(instance)
            materialize(instance, "deployed_model", deploy_config(second, force=True))
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 1
        _score(instance)
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 0


def test_a_deployment_scored_in_its_own_run_is_not_scored_again(env, broker_url, queues):
    records = simulate(2000)
    with dg.instance_for_test() as instance:
        first, second = _two_models(instance, env, broker_url, queues, records)
        tick = _tick(instance, None)  # the first evaluation only starts counting
        scored = metadata(
            run_job(instance, "deploy_model", run_config=deploy_config(first)), "devices_at_risk"
        )
        assert scored["model_name"] == first
        assert scored["num_scored"] + scored["num_refused"] == 500
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 0
        # Readings stored after that run's scoring read the store are new to it, even though
        # the latest deployment was scored in its own run.
        run_job(instance, "deploy_model", run_config=deploy_config(second, force=True))
        ingest(instance, broker_url, queues, readings=records[1500:])
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 1
        assert _score(instance)["num_unknown"] == 1000
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 0
        # A deployment from the asset's own Launchpad is scored by the automation, as before.
        materialize(instance, "deployed_model", deploy_config("previous"))
        tick = _tick(instance, tick)
        assert tick.get_num_requested(DEVICES_AT_RISK) == 1


def _deployed(instance, broker_url, queues, records) -> None:
    """Readings and statuses 1-1000 trained on, a model deployed, readings 1001-1500 waiting."""
    ingest(instance, broker_url, queues, readings=records[:1500], statuses=records[:1000])
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    [entry] = current_storage().registry().entries()
    materialize(instance, "deployed_model", deploy_config(entry.name))


def test_each_machine_at_risk_has_a_mode_a_margin_and_an_action(
    env, instance, broker_url, queues, monkeypatch
):
    _deployed(instance, broker_url, queues, simulate(1500))
    unlimited = _score(instance)
    assert unlimited["crew_capacity"] == "unlimited" and unlimited["num_at_risk"] > 2
    for row in unlimited["riskiest"].records:
        assert row.data["failure_mode"] in MODES and row.data["margin"] and row.data["action"]
    log = current_storage().predictions().read_frame()
    assert len(log) == unlimited["num_scored"] and set(log["failure_mode"]) <= MODES
    at_risk = log[log["at_risk"]]
    assert (at_risk["margin"] != "").all() and (at_risk["action"] != "").all()

    # A crew of two: only the two riskiest stay at risk.
    monkeypatch.setenv("MLOPS_CREW_CAPACITY", "2")
    capped = _score(instance)
    riskiest = capped["riskiest"].records
    assert (capped["crew_capacity"], capped["num_at_risk"]) == (2, 2)
    assert [row.data["at_risk"] for row in riskiest[:3]] == [True, True, False]
    assert sorted(capped["devices_at_risk"]) == sorted(row.data["UDI"] for row in riskiest[:2])
    # The same readings: the same expected failures; the crew's two visits catch fewer of them.
    assert capped["expected_failures"] == unlimited["expected_failures"]
    assert "expected_precision_at_capacity" not in unlimited
    two = [row.data["failure_probability"] for row in riskiest[:2]]
    assert capped["expected_precision_at_capacity"] == pytest.approx(sum(two) / 2, abs=1e-3)
    assert capped["expected_recall_at_capacity"] < unlimited["expected_recall"]


def test_the_refused_share_check_warns_when_the_plant_leaves_the_trained_domain(
    env, instance, broker_url, queues
):
    records = simulate(1600)
    _deployed(instance, broker_url, queues, records)
    # The torque sensors read four times high: far outside the trained range, yet physical.
    ingest(
        instance, broker_url, queues, readings=[
            {**record, "Torque [Nm]": round(record["Torque [Nm]"] * 4, 1)}
            for record in records[1500:]
        ],
    )  # fmt: skip
    result = materialize(instance, "devices_at_risk")
    check = _checks(result)[REFUSED_SHARE]
    scored = metadata(result, "devices_at_risk")
    assert scored["num_unknown"] == 600 and scored["num_refused"] >= 90
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    observed = check.metadata["observed_share"].value
    assert observed == scored["num_refused"] / scored["num_unknown"] > 0.05
    assert check.metadata["expected_at_most"].value == 0.05
