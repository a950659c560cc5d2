"""The gate: a new model against the champion on the readings neither trained on. No broker."""

from dataclasses import replace

import pytest
from helpers.models import TEST_KEY, register
from helpers.threshold import TorqueAbove, labelled_window

from mlops_demo.core.lifecycle import gate, held_out_window
from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.registry_storage import FolderRegistryStorage

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
    assert better.passed and (better.f1, better.champion_f1) == (1.0, 0.0)
    assert better.reason.startswith("F1 1.0000 beats the champion's 0.0000 by the margin 0")
    assert better.champion == champion_entry.name
    worse = gate(NEVER, window, (PERFECT, champion_entry), margin=0.0)
    assert not worse.passed and "does not beat the champion's 1.0000" in worse.reason


def test_the_margin_is_what_the_new_model_must_win_by(champion_entry):
    window = labelled_window()
    assert not gate(PERFECT, window, (NEVER, champion_entry), margin=1.01).passed
    assert gate(PERFECT, window, (NEVER, champion_entry), margin=0.5).passed


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
    assert not tie.passed and (tie.f1, tie.champion_f1) == (1.0, 1.0)
    assert "does not beat the champion's 1.0000" in tie.reason
