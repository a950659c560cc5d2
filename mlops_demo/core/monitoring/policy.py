"""What the loop does about each kind of finding, and why: the one place that says it. The drift
check and the realized-F1 check put the response that applies in their metadata (`response`,
`why`), and `retrain_on_drift_or_decay_sensor` acts only on a response that says to retrain.
`docs/monitoring.md` measures each finding's error rates (`bench/decisions.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_demo.core.monitoring.faults import Followed


@dataclass(frozen=True)
class Response:
    finding: str
    action: str
    why: str
    retrain: bool = False


SENSOR_FAULT = Response(
    "a sensor fault: an offset, a stuck sensor, or torque and speed off their curve",
    "fix the sensor (named, with the UDI it began at); its readings are marked and left out of "
    "training, never deleted; no retrain",
    "a model trained on a broken sensor learns the fault, and could even beat the champion on "
    "the very readings the fault wrote",
)
ABSORBED = Response(
    "a shift the model's inputs absorb: air and process temperature stepping together",
    "noted; no action",
    "the model reads the margins to the documented limits, which the shift leaves alone",
)
CHANGED = Response(
    "readings that changed in another way: a distribution, the product mix, an early tool reset",
    "look at what changed; the realized-F1 check decides on a retrain once the statuses arrive",
    "a retrain needs labels, and the readings' statuses come in the evening",
)
NOTHING = Response("no change", "none", "the readings resemble the training readings")
DECAY = Response(
    "realized F1 decays and no sensor fault is open: the plant itself changed",
    "retrain (job train_ml_model) on the labels since the decayed batch began; the gate judges "
    "the new model on readings since then, and the shadow confirms it live",
    "the labels since the change hold what the model no longer knows, and older ones would "
    "outvote them",
    retrain=True,
)
DECAY_DURING_FAULT = Response(
    "realized F1 decays while a sensor fault is open",
    "fix the sensor first; no retrain",
    "the decay may be the fault's: a model trained now would learn it",
)
HOLDS = Response("realized F1 holds", "none", "the model does as well as expected")

POLICY = (SENSOR_FAULT, ABSORBED, CHANGED, DECAY, DECAY_DURING_FAULT)


def drift_response(followed: Followed) -> tuple[Response, str]:
    """The response to a batch's drift findings, followed into the fault log, and the sentence
    that says what was found."""
    ended = "".join(f"; ended: {f.described()}" for f in followed.ended)
    if followed.open:
        return SENSOR_FAULT, "sensor fault: " + "; ".join(f.described() for f in followed.open)
    if followed.changes:
        changes = "; ".join(f"{f.test}: {f.detail}" for f in followed.changes)
        return CHANGED, f"changed: {changes}{ended}"
    if followed.absorbed:
        return ABSORBED, "noted: " + "; ".join(followed.absorbed) + ended
    return NOTHING, f"no test found a change{ended}"


def metadata(response: Response) -> dict[str, str | bool]:
    """The response as a check's metadata shows it; `retrain` is what the retrain sensor reads."""
    return {"response": response.action, "why": response.why, "retrain": response.retrain}


def as_markdown() -> str:
    """The policy as a table, for the UI and the docs."""
    rows = "\n".join(f"| {r.finding} | {r.action} | {r.why} |" for r in POLICY)
    return f"| finding | what the loop does | why |\n| --- | --- | --- |\n{rows}"
