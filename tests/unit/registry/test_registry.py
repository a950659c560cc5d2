"""The model registry in a folder: atomic saves, model cards, the lifecycle, and loading only
what hashes to its entry. The tests taking `registry` run on PostgreSQL too
(tests/integration/registry/test_registry_postgres.py)."""

import hashlib
import json
import pickle
import stat
from dataclasses import replace

import pandas as pd
import pytest
from helpers.faults import Planted
from helpers.models import TEST_KEY, gate, model_bytes, register, replace_model_bytes, summary

from mlops_demo.core.model import features, training
from mlops_demo.core.model.array_forest import ArrayForest
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.registry.entries import NOT_ENOUGH_EVIDENCE, RegistryError
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.signing import load_or_create_key
from mlops_demo.core.registry.storage import FolderRegistryStorage


def _register(registry: ModelRegistry, model: object = None, f1: float = 0.5, passed=True):
    return register(registry, model, f1, passed)


@pytest.fixture
def folder_registry(tmp_path):
    return ModelRegistry(FolderRegistryStorage(tmp_path / "trained-models"), TEST_KEY)


@pytest.fixture
def open_registry(tmp_path):
    """Opens the registry in trained-models/."""
    return lambda: ModelRegistry(FolderRegistryStorage(tmp_path / "trained-models"), TEST_KEY)


@pytest.fixture
def registry(open_registry):
    return open_registry()


def test_a_registered_model_loads_by_full_or_bare_name(registry, tmp_path):
    entry = _register(registry)
    assert entry.name.startswith("trained-models/model-") and entry.name.endswith("Z.pickle")
    for name in (entry.name, entry.file_name, f"  {entry.name} "):
        model, loaded = registry.load(name)
        assert model == {"weights": [1, 2, 3]} and loaded == entry
    card = registry.storage.read_file(entry.file_name.replace(".pickle", ".md")).decode()
    assert entry.sha256 in card and "| f1 | 0.5000 |" in card and "scikit-learn" in card


def test_a_folder_registry_leaves_no_temporary_files(folder_registry, tmp_path):
    _register(folder_registry)
    assert not [p for p in (tmp_path / "trained-models").iterdir() if p.name.endswith(".tmp")]


def test_entries_record_path_hash_metrics_rows_features_and_versions(registry, open_registry):
    entry = _register(registry)
    [stored] = open_registry().entries()
    assert stored == entry
    assert len(entry.sha256) == 64 and entry.training_rows == 70
    assert {"python", "scikit-learn", "dagster"} <= set(entry.versions)


@pytest.mark.parametrize(
    ("requested", "problem"),
    [
        ("trained-models/model-nope.pickle", "is not a registered model"),
        ("../../etc/passwd", "points outside trained-models/"),
        ("/tmp/model.pickle", "points outside trained-models/"),
        ("trained-models/../model.pickle", "points outside trained-models/"),
    ],
)
def test_names_that_are_not_registered_are_refused_listing_the_candidates(
    registry, requested, problem
):
    entry = _register(registry)
    with pytest.raises(RegistryError) as caught:
        registry.load(requested)
    assert problem in str(caught.value)
    assert f"Valid candidates: {entry.name}" in str(caught.value)


def test_an_empty_registry_says_to_train_first(registry):
    with pytest.raises(RegistryError, match="No model is registered yet: run the train_ml_model"):
        registry.load("model-x.pickle")


def test_a_planted_pickle_under_a_candidates_name_is_refused_without_running(registry, tmp_path):
    entry = _register(registry)
    marker = tmp_path / "planted-code-ran"
    replace_model_bytes(registry, entry, pickle.dumps(Planted(str(marker))))
    with pytest.raises(RegistryError, match="does not match its registered SHA-256"):
        registry.load(entry.name)
    assert not marker.exists()


def test_a_truncated_model_file_is_refused(registry):
    entry = _register(registry)
    replace_model_bytes(registry, entry, model_bytes(registry, entry)[:10])
    with pytest.raises(RegistryError, match="altered or truncated, so it is not loaded"):
        registry.load(entry.file_name)


def test_a_missing_model_file_is_named(folder_registry):
    registry = folder_registry
    entry = _register(registry)
    (registry.storage.directory / entry.file_name).unlink()
    with pytest.raises(RegistryError, match="is registered but its file is missing"):
        registry.load(entry.name)


@pytest.mark.parametrize("content", [b'{"models": [{"name": 1', b"[]", b'{"models": [{"x": 1}]}'])
def test_a_damaged_or_foreign_registry_is_one_clear_error(registry, content):
    registry.storage.write_document(content)
    with pytest.raises(RegistryError, match=r"cannot be read .*Move it aside"):
        registry.entries()


def test_a_model_is_trained_then_candidate_or_rejected_then_deployed_then_retired(registry):
    accepted = registry.register({"w": 1}, summary(), gate(passed=True))
    refused = registry.register({"w": 2}, summary(), gate(passed=False))
    assert registry.statuses() == {accepted.name: "trained", refused.name: "trained"}
    assert registry.decide(accepted.name) == "candidate"
    assert registry.decide(refused.name) == "rejected"
    registry.deploy(accepted.name)
    assert registry.statuses()[accepted.name] == "deployed"
    later = _register(registry)
    registry.deploy(later.file_name)
    assert registry.statuses() == {
        accepted.name: "retired",
        refused.name: "rejected",
        later.name: "deployed",
    }


def test_a_rejected_or_undecided_model_needs_force_and_is_recorded_as_forced(registry):
    rejected = _register(registry, passed=False)
    undecided = registry.register({"w": 3}, summary(), gate())
    refusals = ((rejected, "it was rejected: F1 0.1"), (undecided, "it has not passed the gate"))
    for entry, why in refusals:
        with pytest.raises(RegistryError, match=f"is not a candidate: {why}.*force: true"):
            registry.deploy(entry.name)
    assert registry.history() == []
    _, deployment = registry.deploy(rejected.name, force=True)
    assert (deployment.model, deployment.forced, deployment.previous) == (rejected.name, True, None)
    assert registry.deployed_name() == rejected.name


def test_previous_rolls_back_one_deployment_at_a_time(registry):
    a, b, c = _register(registry), _register(registry), _register(registry)
    with pytest.raises(RegistryError, match="no earlier deployment to roll back to"):
        registry.deploy("previous")
    for entry in (a, b, c):
        registry.deploy(entry.name)
    _, back = registry.deploy("previous")
    assert (back.model, back.previous, back.rollback) == (b.name, c.name, True)
    _, again = registry.deploy(" previous ")
    assert (again.model, again.previous) == (a.name, b.name)
    assert registry.deployed_name() == a.name
    assert registry.statuses() == {a.name: "deployed", b.name: "retired", c.name: "retired"}
    with pytest.raises(RegistryError, match="no earlier deployment"):
        registry.deploy("previous")
    assert [d.model for d in registry.history()] == [a.name, b.name, c.name, b.name, a.name]


def test_deploying_a_tampered_model_is_refused_and_not_recorded(registry):
    entry = _register(registry)
    replace_model_bytes(registry, entry, model_bytes(registry, entry) + b"x")
    with pytest.raises(RegistryError, match="does not match its registered SHA-256"):
        registry.deploy(entry.name)
    assert registry.history() == [] and registry.champion() is None


def test_deciding_on_a_model_the_registry_does_not_hold_names_the_valid_ones(registry):
    kept = _register(registry)
    with pytest.raises(RegistryError, match=r"is not a registered model\. Valid candidates: "):
        registry.decide("trained-models/model-gone.pickle")
    assert registry.statuses() == {kept.name: "candidate"}


def _rewrite_entry_hash(registry: ModelRegistry, entry, sha256: str) -> None:
    """Rewrite the entry's hash in the stored document, as whoever can write the registry's
    folder or tables could, without the key."""
    document = json.loads(registry.storage.read_document())
    for model in document["models"]:
        if model["name"] == entry.name:
            model["sha256"] = sha256
    registry.storage.write_document(json.dumps(document).encode())


@pytest.mark.parametrize("tampered", ["the pickle", "the entry", "both"])
def test_tampering_with_the_pickle_the_entry_or_both_is_refused_before_unpickling(
    registry, open_registry, tmp_path, tampered
):
    entry = _register(registry)
    marker = tmp_path / "ran"
    planted = pickle.dumps(Planted(str(marker)))
    if tampered in ("the pickle", "both"):
        replace_model_bytes(registry, entry, planted)
    if tampered in ("the entry", "both"):
        _rewrite_entry_hash(registry, entry, hashlib.sha256(planted).hexdigest())
    expected = (
        "SHA-256" if tampered == "the pickle" else "not signed with this deployment's registry key"
    )
    for attempt in (
        lambda: open_registry().load(entry.name),
        lambda: open_registry().deploy(entry.name, force=True),
        lambda: open_registry().verify(entry.name),
    ):
        with pytest.raises(RegistryError, match=expected):
            attempt()
    assert not marker.exists(), "the planted pickle ran"


def test_a_registry_written_under_another_key_is_refused(registry, open_registry):
    entry = _register(registry)
    other = ModelRegistry(open_registry().storage, b"someone else's key")
    with pytest.raises(RegistryError, match="not signed with this deployment's registry key"):
        other.load(entry.name)


def test_scoring_refuses_a_model_whose_hash_changed_since_it_was_deployed(registry):
    entry = _register(registry)
    registry.load(entry.name, entry.sha256)
    with pytest.raises(RegistryError, match=r"not the .* it had when it was deployed"):
        registry.load(entry.name, "0" * 64)


def test_the_key_file_is_made_once_for_its_owner_only(tmp_path):
    path = tmp_path / "home" / "mlops_registry.key"
    key = load_or_create_key(path)
    assert len(key) == 64 and load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(RegistryError, match="can be read by other users: chmod 600"):
        load_or_create_key(path)


def test_a_model_without_enough_evidence_stays_trained_after_the_gate_is_applied(tmp_path):
    registry = ModelRegistry(FolderRegistryStorage(tmp_path), TEST_KEY)
    waiting = replace(gate(passed=False), outcome=NOT_ENOUGH_EVIDENCE, more_failures_needed=4)
    entry = registry.register({"weights": [1]}, summary(), waiting)
    assert registry.decide(entry.name) == "trained"
    assert registry.resolve(entry.name).gate.more_failures_needed == 4


def test_the_shadow_is_the_newest_model_the_gate_did_not_turn_down(tmp_path):
    registry = ModelRegistry(FolderRegistryStorage(tmp_path), TEST_KEY)
    champion = _register(registry)
    registry.deploy(champion.name)
    assert registry.shadow() is None  # the champion never shadows itself
    waiting_gate = replace(gate(passed=False), outcome=NOT_ENOUGH_EVIDENCE)
    waiting = registry.register({"weights": [2]}, summary(), waiting_gate)
    assert registry.shadow() is None  # not decided yet: production_model_candidates has not run
    registry.decide(waiting.name)
    assert registry.shadow().name == waiting.name
    _register(registry, passed=False)  # rejected: never a shadow
    assert registry.shadow().name == waiting.name
    # Live evidence settles it.
    settled = replace(waiting_gate, outcome="promote", passed=True, reason="live")
    assert registry.record_live_gate(waiting.name, settled) == "candidate"
    assert registry.resolve(waiting.name).gate.reason == "live"


@pytest.fixture(scope="module")
def trained_forest():
    machines = pd.DataFrame(simulate(2000))
    train, test = training.split_by_udi(machines, 0.7)
    return training.train(train, test).model, test


def test_a_trained_forest_is_kept_as_arrays_that_score_as_its_pickle(registry, trained_forest):
    model, test = trained_forest
    entry = _register(registry, model)
    assert (
        entry.arrays_sha256
        == hashlib.sha256(registry.storage.read_file(entry.arrays_file_name)).hexdigest()
    )
    scorer, loaded = registry.load_scorer(entry.name, entry.sha256)
    pickled, _ = registry.load(entry.name)
    assert isinstance(scorer, ArrayForest) and loaded == entry
    assert (scorer.predict(test) == pickled.predict(test[list(features.FEATURE_COLUMNS)])).all()


def test_a_model_without_arrays_scores_by_its_pickle(registry):
    entry = _register(registry)
    assert entry.arrays_sha256 is None
    assert registry.load_scorer(entry.name)[0] == {"weights": [1, 2, 3]}


def test_altered_arrays_are_refused_by_scoring_and_by_deployment(registry, trained_forest):
    entry = _register(registry, trained_forest[0])
    arrays = registry.storage.read_file(entry.arrays_file_name)
    registry.storage.write_file(entry.arrays_file_name, arrays[:-1] + b"x")
    with pytest.raises(RegistryError, match=r"\.arrays\.npz: expected .* altered or truncated"):
        registry.load_scorer(entry.name)
    with pytest.raises(RegistryError, match="does not match its registered SHA-256"):
        registry.deploy(entry.name)
    assert registry.history() == []


def test_scoring_refuses_arrays_whose_model_changed_since_it_was_deployed(registry, trained_forest):
    entry = _register(registry, trained_forest[0])
    with pytest.raises(RegistryError, match=r"not the .* it had when it was deployed"):
        registry.load_scorer(entry.name, "0" * 64)


def test_old_models_lose_their_files_and_keep_their_entries_and_cards(registry):
    rolled_back_to, champion, *old = (_register(registry) for _ in range(5))
    registry.deploy(rolled_back_to.name)
    registry.deploy(champion.name)
    shadow = _register(registry)
    newest = registry.register({"w": 9}, summary(), gate())  # undecided: not the shadow
    statuses = registry.statuses()
    assert registry.shadow() == shadow

    removed = registry.remove_old_files(keep_newest=1)

    assert removed == [entry.name for entry in old]
    assert registry.remove_old_files(keep_newest=1) == []
    assert registry.statuses() == statuses and len(registry.entries()) == 7
    for entry in old:
        with pytest.raises(FileNotFoundError):
            registry.storage.read_file(entry.file_name)
        card = registry.storage.read_file(entry.file_name.replace("pickle", "md")).decode()
        assert entry.sha256 in card
        with pytest.raises(RegistryError, match="removed by the registry's retention"):
            registry.load(entry.name)
        with pytest.raises(RegistryError, match="removed by the registry's retention"):
            registry.deploy(entry.name, force=True)
    for entry in (rolled_back_to, champion, shadow, newest):
        registry.load(entry.name)
    _, back = registry.deploy("previous")
    assert back.model == rolled_back_to.name
