"""The morning's estimate: the exact distribution of the failure count, its interval's coverage
over many simulated days, and the expected confusion counts."""

import itertools

import numpy as np
import pytest
from scipy import stats

from mlops_demo.core.monitoring.estimate import (
    count_interval,
    estimate,
    failure_count_distribution,
)


def test_the_count_distribution_is_the_exact_poisson_binomial():
    p = np.array([0.1, 0.5, 0.9, 0.3])
    brute = np.zeros(len(p) + 1)
    for outcome in itertools.product([0, 1], repeat=len(p)):
        brute[sum(outcome)] += np.prod([q if o else 1 - q for q, o in zip(p, outcome, strict=True)])
    assert failure_count_distribution(p) == pytest.approx(brute)
    same = np.full(500, 0.02)
    pmf = failure_count_distribution(same)
    assert pmf == pytest.approx(stats.binom.pmf(np.arange(len(pmf)), 500, 0.02), abs=1e-12)
    assert pmf.sum() == pytest.approx(1.0)


def test_the_90_percent_interval_holds_the_actual_count_on_90_to_95_percent_of_days():
    rng = np.random.default_rng(7)
    days, held = 1000, 0
    for _ in range(days):
        # Mostly quiet machines and a few near a limit, as a morning's readings are.
        p = np.where(rng.random(500) < 0.05, rng.beta(2, 2, 500), rng.beta(1, 200, 500))
        low, high = count_interval(p)
        held += low <= (rng.random(500) < p).sum() <= high
    assert 0.89 <= held / days <= 0.96


def test_sure_probabilities_estimate_the_confusion_counts_exactly():
    p = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    flagged = np.array([True, False, True, False, True])
    found = estimate(p, flagged)
    assert (found.expected_caught, found.expected_false_alarms, found.expected_missed) == (2, 1, 1)
    assert found.interval == (3, 3)
    assert (found.precision, found.recall, found.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_expected_figures_follow_the_probabilities():
    p = np.array([0.8, 0.6, 0.1, 0.05, 0.05])
    found = estimate(p, p > 0.5)
    assert found.expected_failures == pytest.approx(1.6)
    assert found.precision == pytest.approx(0.7)
    assert found.recall == pytest.approx(1.4 / 1.6)
    summary = found.summary()
    assert summary["expected_failures"] == 1.6
    assert summary["expected_failures_interval"][0] <= 1 <= summary["expected_failures_interval"][1]


def test_nothing_to_score_and_nothing_flagged_give_no_ratio():
    empty = estimate(np.array([]), np.array([], dtype=bool))
    assert (empty.expected_failures, empty.interval, empty.f1) == (0.0, (0, 0), None)
    quiet = estimate(np.array([0.01, 0.02]), np.array([False, False]))
    assert quiet.precision is None and quiet.recall == 0.0
