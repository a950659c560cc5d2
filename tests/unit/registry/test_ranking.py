"""The candidates table and the recommendation, on a real folder registry. No broker."""

from helpers.models import TEST_KEY, register, replace_model_bytes
from helpers.threshold import TorqueAbove, labelled_window

from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.ranking import candidate_rows, recommend
from mlops_demo.core.registry.storage import FolderRegistryStorage


def _registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(FolderRegistryStorage(tmp_path / "trained-models"), TEST_KEY)


def test_every_model_is_listed_oldest_first_with_its_status_and_newest_test_f1(tmp_path):
    registry = _registry(tmp_path)
    good = register(registry, TorqueAbove(50.0))
    rejected = register(registry, TorqueAbove(1000.0), passed=False)
    rows = candidate_rows(registry, labelled_window())
    assert [row["model_name"] for row in rows] == [good.name, rejected.name]
    assert [row["status"] for row in rows] == ["candidate", "rejected"]
    assert [row["newest_test_f1"] for row in rows] == [1.0, 0.0]
    assert [row["problem"] for row in rows] == ["", ""]


def test_a_model_that_cannot_be_loaded_is_listed_with_the_reason(tmp_path):
    registry = _registry(tmp_path)
    entry = register(registry, TorqueAbove(50.0))
    replace_model_bytes(registry, entry, b"planted")
    [row] = candidate_rows(registry, labelled_window())
    assert row["newest_test_f1"] is None
    assert "does not match its registered SHA-256" in row["problem"]
    assert recommend([row]) is None


def test_the_recommendation_is_the_best_candidate_the_newest_on_a_tie(tmp_path):
    registry = _registry(tmp_path)
    register(registry, TorqueAbove(1000.0))
    best = register(registry, TorqueAbove(50.0))
    register(registry, TorqueAbove(50.0), passed=False)  # as good, but rejected
    rows = candidate_rows(registry, labelled_window())
    assert recommend(rows) == best.name
    tie = register(registry, TorqueAbove(50.0))
    assert recommend(candidate_rows(registry, labelled_window())) == tie.name


def test_no_candidate_recommends_nothing(tmp_path):
    registry = _registry(tmp_path)
    register(registry, TorqueAbove(50.0), passed=False)
    assert recommend(candidate_rows(registry, labelled_window())) is None
    assert recommend([]) is None
