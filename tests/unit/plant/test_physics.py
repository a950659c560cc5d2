"""The documented limits, a reading's margin to each, and the mode and action named for it."""

import pandas as pd
import pytest

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    FAILURE_TYPE,
    NO_FAILURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
    TYPE,
)
from mlops_demo.core.plant import physics

# A healthy reading: 11.5 K difference at 1,500 rpm, 40 Nm (6,283 W), 100 min x 40 Nm = 4,000.
HEALTHY = {
    TYPE: "L",
    AIR_TEMPERATURE: 300.0,
    PROCESS_TEMPERATURE: 311.5,
    ROTATIONAL_SPEED: 1500,
    TORQUE: 40.0,
    TOOL_WEAR: 100,
}


def _explain(**changes) -> pd.Series:
    return physics.explain(pd.DataFrame([{**HEALTHY, **changes}])).iloc[0]


@pytest.mark.parametrize(
    ("changes", "mode", "margin"),
    [
        (
            {PROCESS_TEMPERATURE: 308.0, ROTATIONAL_SPEED: 1350},  # 8.0 K
            "heat dissipation",
            "process - air 8.0 K at 1,350 rpm; fails under 8.6 K below 1,380 rpm",
        ),
        ({TORQUE: 20.0}, "power", "power 3,142 W; fails outside 3,500-9,000 W"),
        (
            {TOOL_WEAR: 190, TORQUE: 62.3, ROTATIONAL_SPEED: 1200},
            "overstrain",
            "tool wear x torque 11,837 min Nm; limit 11,000 for type L",
        ),
        ({TOOL_WEAR: 212}, "tool wear", "tool wear 212 min; tools fail between 200 and 240"),
    ],
)
def test_a_breached_limit_is_named_with_its_margin_in_the_readings_units(changes, mode, margin):
    explained = _explain(**changes)
    assert (explained["failure_mode"], explained["margin"]) == (mode, margin)
    assert explained["action"] == next(m.action for m in physics.MODES if m.name == mode)


def test_where_several_limits_are_breached_the_first_documented_one_is_named():
    # Power below 3,500 W and tool wear in its window: power comes first in the documentation.
    assert _explain(**{TORQUE: 20.0, TOOL_WEAR: 210})["failure_mode"] == "power"


def test_a_reading_near_no_limit_is_unexplained_and_a_near_one_names_the_nearest():
    assert _explain()["failure_mode"] == "unexplained"
    # 185 min of wear is 7.5 % short of the window; everything else is further.
    assert _explain(**{TOOL_WEAR: 185})["failure_mode"] == "tool wear"


def test_the_margin_is_relative_and_negative_once_breached():
    margins = physics.relative_margins(pd.DataFrame([HEALTHY, {**HEALTHY, TORQUE: 20.0}]))
    assert margins.loc[0, "overstrain"] == pytest.approx((11_000 - 4_000) / 11_000)
    assert margins.loc[0, "power"] > 0 > margins.loc[1, "power"]
    features = physics.limit_features(pd.DataFrame([HEALTHY, {**HEALTHY, TORQUE: 20.0}]))
    assert features["limits_breached"].tolist() == [0, 1]


def test_every_failure_type_maps_to_its_mode():
    assert physics.mode_of_failure_type("Overstrain Failure") == "overstrain"
    assert physics.mode_of_failure_type("Random Failures") == "unexplained"


def test_the_rules_fire_on_no_healthy_machine_of_the_reference_data(reference_csv):
    data = pd.read_csv(reference_csv, encoding="utf-8-sig")
    fired = physics.rule_verdicts(data)
    healthy = data[TARGET] == 0
    assert not fired[healthy].any()
    assert int(fired[~healthy].sum()) == 287
    # The named mode is the recorded one for every heat-dissipation, power and overstrain row.
    explained = data[data[FAILURE_TYPE].isin(["Heat Dissipation Failure", "Power Failure",
                                              "Overstrain Failure"])]  # fmt: skip
    named = physics.explain(explained)["failure_mode"]
    actual = explained[FAILURE_TYPE].map(physics.mode_of_failure_type)
    assert (named == actual).mean() >= 0.95
    assert NO_FAILURE not in set(actual)
