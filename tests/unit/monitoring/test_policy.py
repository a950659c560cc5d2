"""The response policy: each finding gets its response, and only a decay with no sensor fault
open retrains."""

from mlops_demo.core.messages.records import PROCESS_TEMPERATURE, TORQUE
from mlops_demo.core.monitoring import faults, policy
from mlops_demo.core.monitoring.drift import Finding

OFFSET = faults.SensorFault(PROCESS_TEMPERATURE, faults.OFFSET, 2001, "stepped by -3.0", -3.0)
TORQUE_SHIFT = Finding("distribution", TORQUE, 0.3, 1e-6, "Torque [Nm] mean 40.0 -> 44.0", True)


def _followed(**kwargs) -> faults.Followed:
    fields = {"log": (), "opened": (), "ended": (), "absorbed": (), "changes": ()}
    return faults.Followed(**{**fields, **kwargs})


def test_each_drift_finding_gets_its_response_and_none_retrains():
    cases = {
        policy.SENSOR_FAULT: _followed(log=(OFFSET,), changes=(TORQUE_SHIFT,)),
        policy.CHANGED: _followed(changes=(TORQUE_SHIFT,)),
        policy.ABSORBED: _followed(absorbed=("air and process temperature stepped together",)),
        policy.NOTHING: _followed(),
    }
    for expected, followed in cases.items():
        response, found = policy.drift_response(followed)
        assert response == expected and not response.retrain
    assert policy.drift_response(cases[policy.SENSOR_FAULT])[1] == (
        f"sensor fault: {OFFSET.described()}"
    )
    ended = faults.SensorFault(**{**OFFSET.__dict__, "until_udi": 2600, "ended_by": "a step"})
    _, found = policy.drift_response(_followed(log=(ended,), ended=(ended,)))
    assert found == f"no test found a change; ended: {ended.described()}"


def test_only_a_decay_without_a_sensor_fault_retrains_and_the_table_shows_every_response():
    assert [r for r in policy.POLICY if r.retrain] == [policy.DECAY]
    table = policy.as_markdown().splitlines()
    assert len(table) == 2 + len(policy.POLICY)
    assert all(r.action in policy.as_markdown() for r in policy.POLICY)
    assert policy.metadata(policy.DECAY)["retrain"] is True
