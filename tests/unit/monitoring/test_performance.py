"""Realized performance against a confusion matrix worked out by hand on a small log."""

import numpy as np
import pandas as pd
import pytest

from mlops_demo.core.messages.records import TARGET, UDI
from mlops_demo.core.monitoring.estimate import estimate
from mlops_demo.core.monitoring.performance import (
    Confusion,
    Expected,
    ModelPerformance,
    decay_verdict,
    expected_of,
    paired_verdicts,
    realized_performance,
)

MORNING, NEXT_MORNING = "2026-11-02T07:00:00.000+00:00", "2026-11-03T07:00:00.000+00:00"


def _log(rows: list[tuple[int, str, bool, str]]) -> pd.DataFrame:
    log = pd.DataFrame(rows, columns=[UDI, "model", "at_risk", "predicted_at"])
    return log.assign(failure_probability=log["at_risk"].map({True: 0.9, False: 0.05}))


def _statuses(rows: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[UDI, TARGET])


# Model a scored UDI 1-6 one morning and 7-10 the next; the statuses of 1-8 arrived, 2's twice,
# plus one for UDI 99, which nobody scored.
LOG = _log(
    [
        (1, "a", True, MORNING),  # failed: caught
        (2, "a", True, MORNING),  # did not fail: false alarm
        (3, "a", False, MORNING),  # failed: missed
        (4, "a", False, MORNING),  # quiet
        (5, "a", False, MORNING),  # quiet
        (6, "a", True, MORNING),  # failed: caught
        (7, "a", True, NEXT_MORNING),  # failed: caught
        (8, "a", False, NEXT_MORNING),  # quiet
        (9, "a", True, NEXT_MORNING),  # waits
        (10, "a", False, NEXT_MORNING),  # waits
    ]
)
STATUSES = _statuses(
    [(1, 1), (2, 0), (2, 0), (3, 1), (4, 0), (5, 0), (6, 1), (7, 1), (8, 0), (99, 1)]
)


def test_cumulative_and_last_batch_against_a_hand_count():
    [a] = realized_performance(LOG, STATUSES, {})
    assert a.cumulative == Confusion(caught=3, missed=1, false_alarms=1, quiet=3)
    assert (a.predictions, a.waiting, a.cumulative.labelled) == (10, 2, 8)
    assert a.cumulative.precision == pytest.approx(3 / 4)
    assert a.cumulative.recall == pytest.approx(3 / 4)
    assert a.cumulative.f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    # The newest batch with labels is the next morning's: 7 caught, 8 quiet, 9 and 10 wait.
    assert a.last_batch == Confusion(caught=1, missed=0, false_alarms=0, quiet=1)
    assert a.last_batch_predicted_at == NEXT_MORNING


def test_a_status_that_arrives_later_labels_the_waiting_prediction():
    later = pd.concat([STATUSES, _statuses([(9, 0), (10, 1)])])
    [a] = realized_performance(LOG, later, {})
    assert a.waiting == 0
    assert a.cumulative == Confusion(caught=3, missed=2, false_alarms=2, quiet=3)
    assert a.last_batch == Confusion(caught=1, missed=1, false_alarms=1, quiet=1)


def test_statuses_that_label_nothing_change_nothing():
    # A status for a reading that was never scored (it came before the scoring, or its UDI is
    # unknown) and a status stored twice leave the figures as they were.
    extra = pd.concat([STATUSES, _statuses([(99, 1), (100, 0), (1, 1)])])
    assert realized_performance(LOG, extra, {}) == realized_performance(LOG, STATUSES, {})


def test_each_model_is_counted_apart_newest_first():
    log = pd.concat(
        [LOG, _log([(11, "b", True, NEXT_MORNING), (12, "b", False, NEXT_MORNING)])],
        ignore_index=True,
    ).assign(predicted_at=lambda f: f["predicted_at"].where(f["model"] == "b", MORNING))
    statuses = pd.concat([STATUSES, _statuses([(11, 1), (12, 1)])])
    b, a = realized_performance(log, statuses, {"a": "2026-11-01T12:00:00+00:00"})
    assert (b.model, b.since, b.cumulative) == ("b", None, Confusion(caught=1, missed=1))
    assert (a.model, a.since) == ("a", "2026-11-01T12:00:00+00:00")
    assert a.cumulative == Confusion(caught=3, missed=1, false_alarms=1, quiet=3)
    assert a.last_batch == a.cumulative  # all of a's predictions are one batch now


def test_nothing_to_catch_is_no_f1_rather_than_a_perfect_one():
    quiet = Confusion(quiet=40)
    assert (quiet.precision, quiet.recall, quiet.f1) == (None, None, None)


def test_an_empty_log_gives_no_model():
    assert realized_performance(_log([]), STATUSES, {}) == []


def _performance(caught: int, missed: int, false_alarms: int, quiet: int, waiting: int = 0):
    confusion = Confusion(caught, missed, false_alarms, quiet)
    return ModelPerformance(
        "a", None, confusion.labelled + waiting, waiting, confusion, confusion, None, {},
        {"caught": 0, "named_correctly": 0}, estimate(np.array([]), np.array([], dtype=bool)),
    )  # fmt: skip


# Forward-chained: 85 of 100 failures caught, no false alarm.
EXPECTED = Expected(caught=85, missed=15, false_alarms=0, source="forward-chained")


def test_decay_needs_a_labelled_batch_then_judges_its_recall_and_precision():
    assert decay_verdict(None, EXPECTED, 100, 0.01).passed
    few = decay_verdict(_performance(1, 9, 0, 50, waiting=30), EXPECTED, 100, 0.01)
    assert few.passed and few.description.startswith("no verdict yet: the newest labelled batch")
    # 14 of 17 caught: as expected.
    holding = decay_verdict(_performance(14, 3, 0, 483), EXPECTED, 100, 0.01)
    assert holding.passed and holding.p_value > 0.1
    # 4 of 17 caught: the chance of so few from recall 0.85 (with its uncertainty) is tiny.
    decayed = decay_verdict(_performance(4, 13, 0, 483), EXPECTED, 100, 0.01)
    assert not decayed.passed and decayed.p_value < 1e-4
    assert "caught 4 of 17 failures (expected recall 0.85)" in decayed.description
    # Precision collapses: 14 caught among 40 alarms, when nearly every alarm was a failure.
    alarmed = decay_verdict(_performance(14, 3, 26, 457), EXPECTED, 100, 0.01)
    assert not alarmed.passed


def test_the_expectation_carries_its_uncertainty():
    # Expected recall 0.85 from 20 failures, not 100: the same poor batch is less surprising.
    vague = Expected(caught=17, missed=3, false_alarms=0, source="test split")
    batch = _performance(10, 7, 0, 483)
    assert decay_verdict(batch, vague, 100, 0.01).p_value > (
        decay_verdict(batch, EXPECTED, 100, 0.01).p_value
    )


def test_the_expectation_comes_from_the_forward_chained_evaluation_or_the_test_split():
    pooled = {"pooled": {"failures": 100, "recall": 0.85, "precision": 0.85 / 0.9}}
    assert expected_of(pooled, [[0, 0], [0, 0]]) == Expected(85, 15, 5, "forward-chained")
    assert expected_of({}, [[90, 2], [3, 5]]) == Expected(5, 3, 2, "test split")


def test_recall_per_failure_type_and_the_named_mode_against_a_hand_count():
    log = LOG.assign(
        failure_mode=["power", "overstrain", "", "", "", "tool wear", "overstrain", "", "", ""]
    )
    statuses = STATUSES.assign(
        **{
            "Failure Type": [
                "Power Failure",  # 1: caught, named right
                "No Failure",
                "No Failure",
                "Heat Dissipation Failure",  # 3: missed
                "No Failure",
                "No Failure",
                "Tool Wear Failure",  # 6: caught, a type the readings cannot pin to a day
                "Power Failure",  # 7: caught, named overstrain: wrong
                "No Failure",
                "Random Failures",
            ]
        }
    )
    [a] = realized_performance(log, statuses, {})
    assert a.by_failure_type == {
        "Heat Dissipation Failure": {"failures": 1, "caught": 0},
        "Power Failure": {"failures": 2, "caught": 2},
        "Tool Wear Failure": {"failures": 1, "caught": 1},
    }
    assert a.named_mode == {"caught": 2, "named_correctly": 1}


def test_paired_verdicts_take_only_the_readings_both_models_scored_and_that_are_labelled():
    shadow = _log([(1, "b", False, MORNING), (2, "b", True, MORNING), (3, "b", True, MORNING),
                   (9, "b", True, NEXT_MORNING), (42, "b", True, MORNING)])  # fmt: skip
    pairs = paired_verdicts(pd.concat([LOG, shadow]), STATUSES, "a", "b")
    # 9 waits for its status; 42 was scored by b alone; 4-8 by a alone.
    assert pairs.udis.tolist() == [1, 2, 3]
    assert pairs.failed.tolist() == [True, False, True]
    assert (pairs.first.tolist(), pairs.second.tolist()) == (
        [True, True, False],
        [False, True, True],
    )
