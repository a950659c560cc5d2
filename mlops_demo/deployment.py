"""Deployment assets: register every trained model as a candidate, deploy one from the Launchpad."""

from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from mlops_demo import modelling
from mlops_demo.registry import ModelEntry, ModelRegistry, RegistryError
from mlops_demo.resources import DataDirResource

GROUP = "deployment"


@dataclass(frozen=True)
class DeploymentRecord:
    """What `deployed_model` hands on: the registry name and hash, never the unpickled model."""

    name: str
    sha256: str


def _candidate_rows(registry: ModelRegistry, test_data: pd.DataFrame) -> list[dict]:
    """Every candidate scored on the newest test set (a refused file is listed with the reason)."""
    deployed = registry.deployed_name()
    rows = []
    for entry in registry.entries():
        row = {
            "model_name": entry.name,
            "created_at": entry.created_at,
            "deployed": entry.name == deployed,
        }
        try:
            model, _ = registry.load(entry.name)
        except RegistryError as exc:
            rows.append({**row, "newest_test_f1": None, "problem": str(exc)})
            continue
        metrics, _ = modelling.evaluate(model, test_data)
        rows.append({**row, **{f"newest_test_{k}": v for k, v in metrics.items()}, "problem": ""})
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


def _table(rows: list[dict]) -> str:
    scores = [f"newest_test_{name}" for name in ("f1", "precision", "recall", "roc_auc")]
    columns = ["model_name", *scores, "beats_deployed", "deployed", "created_at", "problem"]
    return pd.DataFrame(rows).reindex(columns=columns).to_markdown(index=False)


@dg.asset(group_name=GROUP, automation_condition=dg.AutomationCondition.eager())
def production_model_candidates(
    trained_model: modelling.TrainingResult, test_data: pd.DataFrame, data: DataDirResource
) -> dg.MaterializeResult:
    """Every trained model, saved with its model card in trained-models/ and ranked on the newest
    test set; paste a `model_name` from the table into deployed_model's Launchpad config."""
    registry = data.registry()
    entry = registry.register(
        trained_model.model,
        metrics=trained_model.metrics,
        confusion_matrix=trained_model.confusion,
        hyperparameters=trained_model.hyperparameters,
        training_rows=trained_model.train_rows,
        test_rows=trained_model.test_rows,
        features=list(modelling.FEATURE_COLUMNS),
    )
    rows = _candidate_rows(registry, test_data)
    recommended = recommend(rows)
    return dg.MaterializeResult(
        metadata={
            "new_model": entry.name,
            "recommended_model": recommended or "none",
            "num_candidates": len(rows),
            "candidates": dg.MetadataValue.md(_table(rows)),
            "launchpad_config": dg.MetadataValue.md(
                "```yaml\nops:\n  deployed_model:\n    config:\n"
                f"      model_name: {recommended}\n```"
            ),
        }
    )


class DeployedModelConfig(dg.Config):
    """Which registered model to deploy: `trained-models/model-....pickle` or the bare file name."""

    model_name: str = Field(description="a model_name from production_model_candidates' table")


def _entry_metadata(entry: ModelEntry) -> dict:
    return {
        "model_name": entry.name,
        "sha256": entry.sha256,
        "created_at": entry.created_at,
        **{name: float(value) for name, value in entry.metrics.items()},
    }


@dg.asset(group_name=GROUP, deps=[production_model_candidates])
def deployed_model(
    config: DeployedModelConfig, data: DataDirResource
) -> dg.Output[DeploymentRecord]:
    """The model that scores new readings: chosen in the Launchpad, checked against the registry."""
    registry = data.registry()
    try:
        _model, entry = registry.load(config.model_name)
    except RegistryError as exc:
        raise dg.Failure(description=str(exc)) from None
    registry.mark_deployed(entry)
    return dg.Output(
        DeploymentRecord(name=entry.name, sha256=entry.sha256), metadata=_entry_metadata(entry)
    )
