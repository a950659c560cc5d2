"""The gate: a new model against the champion on the readings neither trained on. No broker."""

from dataclasses import replace

import numpy as np
import pytest
from helpers.models import TEST_KEY, register
from helpers.threshold import TorqueAbove, labelled_window

from mlops_demo.core.registry.gate import decide, gate, held_out_window, paired_f1_difference
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.storage import FolderRegistryStorage

PERFECT, NEVER = TorqueAbove(50.0), TorqueAbove(1000.0)


@pytest.fixture
def champion_entry(tmp_path):
    registry = ModelRegistry(FolderRegistryStorage(tmp_path), TEST_KEY)
    return replace(register(registry), trained_through_udi=100)


def test_without_a_champion_the_new_model_passes_with_its_window_f1():
    window = labelled_window()
    decided = gate(PERFECT, window, None, margin=0.0)
    assert decided.passed and decided.reason == "no model is deployed yet"
    assert decided.f1 == 1.0 and decided.champion is None
    assert (decided.window_first_udi, decided.window_last_udi, decided.window_rows) == (1, 300, 300)


def test_a_better_model_beats_the_champion_and_a_worse_one_does_not(champion_entry):
    window = labelled_window()
    better = gate(PERFECT, window, (NEVER, champion_entry), margin=0.0)
    assert better.passed and better.outcome == "promote"
    assert (better.f1, better.champion_f1, better.failures) == (1.0, 0.0, 45)
    assert better.reason.startswith("promote: beats the champion: F1 difference +1.0000")
    assert "F1 difference +1.0000" in better.reason and better.champion == champion_entry.name
    worse = gate(NEVER, window, (PERFECT, champion_entry), margin=0.0)
    assert not worse.passed and worse.outcome == "reject"
    assert worse.reason.startswith("reject: does not beat the champion: F1 difference -1.0000")
    tie = gate(PERFECT, window, (PERFECT, champion_entry), margin=0.0)
    assert tie.reason.startswith(
        "reject: does not beat the champion (a tie: the same F1 in every resample): "
        "F1 difference +0.0000 (95 % interval +0.0000 to +0.0000"
    )


def test_the_margin_is_what_the_new_model_must_win_by(champion_entry):
    window = labelled_window()
    short = gate(PERFECT, window, (NEVER, champion_entry), margin=1.01)
    assert not short.passed
    assert short.reason.startswith("reject: does not beat the champion by more than the margin")
    wide = gate(PERFECT, window, (NEVER, champion_entry), margin=0.5)
    assert wide.passed
    assert wide.reason.startswith("promote: beats the champion by more than the margin 0.5: ")


def test_an_empty_window_decides_nothing_and_says_what_to_do(champion_entry):
    empty = labelled_window().iloc[0:0]
    decided = gate(PERFECT, empty, (NEVER, champion_entry), margin=0.0)
    assert not decided.passed and decided.f1 is None and decided.window_rows == 0
    assert "ingest more statuses, then train again" in decided.reason


def test_the_window_holds_only_readings_the_champion_did_not_train_on(champion_entry):
    test_data = labelled_window(n=200, first_udi=51)
    window = held_out_window(test_data, champion_entry)
    assert window["UDI"].min() == 101 and len(window) == 150
    assert held_out_window(test_data, None) is test_data


def test_a_tie_is_never_a_win(champion_entry):
    window = labelled_window()
    tie = gate(PERFECT, window, (TorqueAbove(50.0), champion_entry), margin=0.0)
    assert not tie.passed and tie.outcome == "reject" and (tie.f1, tie.champion_f1) == (1.0, 1.0)
    assert "F1 difference +0.0000" in tie.reason


def test_too_few_failures_is_not_enough_evidence_and_says_how_many_more(champion_entry):
    window = labelled_window(n=40)
    failures = int(window["Target"].sum())
    assert 0 < failures < 10
    few = gate(PERFECT, window, (NEVER, champion_entry), margin=0.0, min_failures=10)
    assert (few.outcome, few.passed, few.failures) == ("not enough evidence yet", False, failures)
    assert few.more_failures_needed == 10 - failures
    assert "fewer than 10 failures" in few.reason
    assert f"about {10 - failures} more labelled failures" in few.reason


def test_a_small_lead_on_a_noisy_window_waits_for_more_evidence():
    rng = np.random.default_rng(3)
    failed = rng.random(1000) < 0.034
    old = failed & (rng.random(1000) < 0.70)  # recall 0.70, no false alarm
    new = old | (failed & (rng.random(1000) < 0.15))  # a few more caught
    decided = decide(failed, new, old, margin=0.0, min_failures=10)
    assert decided.difference > 0 and decided.low <= 0 < decided.high
    assert decided.outcome == "not enough evidence yet" and decided.more_failures_needed > 0


def test_the_paired_interval_is_narrow_where_the_models_agree_and_holds_the_difference():
    rng = np.random.default_rng(4)
    failed = rng.random(2000) < 0.034
    old = failed & (rng.random(2000) < 0.7)
    # The new model catches every failure the old one does, and most of the others.
    new = old | (failed & (rng.random(2000) < 0.6))
    point, low, high = paired_f1_difference(failed, new, old)
    assert low < point < high and low > 0
    independent = failed & (rng.random(2000) < 0.79)  # about as good, but on other readings
    _, wide_low, wide_high = paired_f1_difference(failed, independent, old)
    assert wide_high - wide_low > high - low
