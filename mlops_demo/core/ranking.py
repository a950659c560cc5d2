"""Ranking the registered models on the newest test set, and the one to recommend."""

from __future__ import annotations

import pandas as pd

from mlops_demo.core.modelling import evaluate
from mlops_demo.core.registry import ModelRegistry, RegistryError

SCORES = ("f1", "precision", "recall", "roc_auc")
SCORE_COLUMNS = tuple(f"newest_test_{name}" for name in SCORES)


def candidate_rows(registry: ModelRegistry, test_data: pd.DataFrame) -> list[dict]:
    """Every registered model scored on the newest test set; a model that cannot be loaded is
    listed with the reason and no scores."""
    deployed = registry.deployed_name()
    rows = []
    for entry in registry.entries():
        row = {"model_name": entry.name, "created_at": entry.created_at}
        row["deployed"] = entry.name == deployed
        try:
            model, _ = registry.load(entry.name)
        except RegistryError as exc:
            rows.append({**row, **dict.fromkeys(SCORE_COLUMNS), "problem": str(exc)})
            continue
        metrics, _ = evaluate(model, test_data)
        scores = {f"newest_test_{name}": metrics.get(name) for name in SCORES}
        rows.append({**row, **scores, "problem": ""})
    deployed_f1 = next((row["newest_test_f1"] for row in rows if row["deployed"]), None)
    for row in rows:
        row["beats_deployed"] = row["newest_test_f1"] is not None and (
            deployed_f1 is None or row["newest_test_f1"] > deployed_f1
        )
    return rows


def recommend(rows: list[dict]) -> str | None:
    """The best newest-test F1; the newest such model on a tie."""
    usable = [row for row in rows if row["newest_test_f1"] is not None]
    if not usable:
        return None
    return max(usable, key=lambda row: (row["newest_test_f1"], row["created_at"]))["model_name"]
