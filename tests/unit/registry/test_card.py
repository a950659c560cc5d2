"""The model card written beside each model, and the confusion-matrix table. No broker."""

from dataclasses import replace

import pandas as pd
from helpers.models import TEST_KEY, gate, register, summary

from mlops_demo.core.model import evaluation, pipeline
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.registry.card import confusion_markdown, model_card
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.registry.storage import FolderRegistryStorage


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


def test_the_card_carries_the_forward_chained_evaluation_calibration_and_limits(tmp_path):
    machines = pd.DataFrame(simulate(1000))
    report = evaluation.forward_chained(
        machines, lambda: pipeline.build_pipeline(Hyperparameters(n_estimators=20)), 3,
        capacity=5, batch=100,
    )  # fmt: skip
    registry = ModelRegistry(FolderRegistryStorage(tmp_path), TEST_KEY)
    entry = registry.register({"weights": [1]}, replace(summary(), evaluation=report), gate())
    card = model_card(entry)
    pooled = report["pooled"]
    assert f"| **pooled** | {pooled['rows']} | {pooled['failures']} |" in card
    assert f"| documented rules, same rows | {pooled['rows']} |" in card
    for fold in report["folds"]:
        assert f"| UDI {fold['first_udi']}-{fold['last_udi']} ({fold['training_rows']} " in card
    assert f"95 % bootstrap interval {pooled['f1_low']:.3f}-{pooled['f1_high']:.3f}" in card
    assert f"expected calibration error {report['calibration']['ece']:.4f}" in card
    assert "calibrated on the newest 18 training rows" in card
    named = report["named_mode"]
    assert f"the named mode was the actual one for {named['named_correctly']}" in card
    assert "At the crew's capacity (5 per 100 readings)" in card
    assert "Random failures" in card and "Tool-wear failures" in card


def test_a_card_without_an_evaluation_says_so(tmp_path):
    entry = register(ModelRegistry(FolderRegistryStorage(tmp_path), TEST_KEY))
    assert "No forward-chained evaluation" in model_card(entry)
