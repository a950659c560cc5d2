"""devices_at_risk follows deployments and new readings by automation; retraining changes it."""

import dagster as dg
import pytest
from helpers.runs import deploy_config, ingest, materialize, metadata, run_job

from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.simulator import simulate
from mlops_demo.definitions import defs

pytestmark = pytest.mark.broker


@pytest.fixture
def instance(backend_instance):
    return backend_instance


DEVICES_AT_RISK = dg.AssetKey("devices_at_risk")


def _tick(instance, previous):
    return dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=previous.cursor if previous else None
    )


def test_deployments_and_new_readings_refresh_devices_at_risk(env, instance, broker_url, queues):
    records = simulate(2000)
    ingest(instance, broker_url, queues, readings=records[:1000], statuses=records[:500])
    tick = _tick(instance, None)
    run_job(instance, "train_ml_model")
    materialize(instance, "production_model_candidates")
    first = ModelRegistry(env).entries()[0]
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 0  # no model deployed yet

    materialize(instance, "deployed_model", deploy_config(first.name))
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 1
    before = metadata(materialize(instance, "devices_at_risk"), "devices_at_risk")
    assert before["model_name"] == first.name
    assert before["num_scored"] == 500
    assert before["num_at_risk"] == len(before["devices_at_risk"])
    assert all(501 <= udi <= 1000 for udi in before["devices_at_risk"])
    riskiest = before["riskiest"].records
    assert len(riskiest) == 20
    probabilities = [row.data["failure_probability"] for row in riskiest]
    assert probabilities == sorted(probabilities, reverse=True)

    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 0  # nothing new
    ingest(instance, broker_url, queues, readings=records[1000:1500])
    tick = _tick(instance, tick)
    assert tick.get_num_requested(DEVICES_AT_RISK) == 1

    # More statuses, a retrain, a second candidate; deploying it changes the list.
    ingest(instance, broker_url, queues, statuses=records[500:1500])
    run_job(instance, "train_ml_model")
    candidates = metadata(
        materialize(instance, "production_model_candidates"), "production_model_candidates"
    )
    assert candidates["num_candidates"] == 2
    second = ModelRegistry(env).entries()[1]
    materialize(instance, "deployed_model", deploy_config(second.name))
    after = metadata(materialize(instance, "devices_at_risk"), "devices_at_risk")
    assert after["model_name"] == second.name
    assert all(1001 <= udi <= 1500 for udi in after["devices_at_risk"])
    assert after["devices_at_risk"] != before["devices_at_risk"]
