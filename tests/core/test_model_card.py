"""The model card written beside each model, and the confusion-matrix table. No broker."""

from helpers.models import TEST_KEY, register

from mlops_demo.core.model_card import confusion_markdown, model_card
from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.registry_storage import FolderRegistryStorage


def test_the_confusion_matrix_reads_as_truth_by_prediction():
    table = confusion_markdown([[90, 2], [3, 5]])
    assert table.splitlines() == [
        "| | predicted healthy | predicted failure |",
        "| --- | --- | --- |",
        "| healthy | 90 | 2 |",
        "| failed | 3 | 5 |",
    ]


def test_the_card_carries_the_entry_and_is_stored_beside_the_model(tmp_path):
    storage = FolderRegistryStorage(tmp_path)
    entry = register(ModelRegistry(storage, TEST_KEY), {"weights": [1]}, f1=0.625)
    card = model_card(entry)
    assert card.startswith(f"# {entry.name}\n")
    assert f"SHA-256 `{entry.sha256}`" in card
    assert "70 rows for training, 30 for the test scores below" in card
    assert "| f1 | 0.6250 |" in card and "| precision | 0.6000 |" in card
    assert "no model is deployed yet." in card
    assert "| failed | 3 | 5 |" in card and "| n_estimators | 10 |" in card
    assert f"| dagster | {entry.versions['dagster']} |" in card
    assert storage.read_file(entry.file_name.replace(".pickle", ".md")).decode() == card
