"""Every registered model with its status, its gate and its score on the newest test set, and
the candidate to recommend."""

from __future__ import annotations

import pandas as pd

from mlops_demo.core.model.evaluation import evaluate
from mlops_demo.core.registry.entries import CANDIDATE, RegistryError
from mlops_demo.core.registry.model_registry import ModelRegistry


def candidate_rows(registry: ModelRegistry, test_data: pd.DataFrame) -> list[dict]:
    """One row per registered model, oldest first; a model that cannot be loaded is listed with
    the reason and no newest-test score."""
    statuses = registry.statuses()
    rows = []
    for entry in registry.entries():
        row = {
            "model_name": entry.name,
            "status": statuses[entry.name],
            "window": f"UDI {entry.gate.window_first_udi}-{entry.gate.window_last_udi}",
            "window_f1": entry.gate.f1,
            "champion_window_f1": entry.gate.champion_f1,
            "gate": entry.gate.reason,
            "created_at": entry.created_at,
        }
        if entry.files_removed:
            rows.append({**row, "newest_test_f1": None, "problem": "files removed (retention)"})
            continue
        try:
            model, _ = registry.load(entry.name)
        except RegistryError as exc:
            rows.append({**row, "newest_test_f1": None, "problem": str(exc)})
            continue
        metrics, _ = evaluate(model, test_data)
        rows.append({**row, "newest_test_f1": metrics.get("f1"), "problem": ""})
    return rows


def recommend(rows: list[dict]) -> str | None:
    """The candidate with the best newest-test F1, the newest on a tie; None when no model is a
    candidate (the champion stays). `rows` come oldest first: the position breaks a tie, since
    two models registered in the same second have the same created_at."""
    usable = [
        (position, row)
        for position, row in enumerate(rows)
        if row["status"] == CANDIDATE and row["newest_test_f1"] is not None
    ]
    if not usable:
        return None
    _, best = max(usable, key=lambda ranked: (ranked[1]["newest_test_f1"], ranked[0]))
    return best["model_name"]
