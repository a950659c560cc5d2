"""Deployment: register every trained model as a candidate, deploy one from the Launchpad."""

from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from mlops_demo.core.modelling import TrainingResult
from mlops_demo.core.ranking import SCORE_COLUMNS, candidate_rows, recommend
from mlops_demo.core.registry import ModelEntry, RegistryError
from mlops_demo.defs.resources import ModelRegistryResource

GROUP = "deployment"
CANDIDATES_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("model_name", "string"),
        *(dg.TableColumn(score, "float") for score in SCORE_COLUMNS),
        dg.TableColumn("beats_deployed", "bool"),
        dg.TableColumn("deployed", "bool"),
        dg.TableColumn("created_at", "string"),
        dg.TableColumn("problem", "string"),
    ]
)


@dataclass(frozen=True)
class DeploymentRecord:
    """What `deployed_model` hands on: the registry name and hash, never the unpickled model."""

    name: str
    sha256: str


@dg.asset(
    group_name=GROUP,
    kinds={"scikitlearn"},
    automation_condition=dg.AutomationCondition.eager(),
)
def production_model_candidates(
    trained_model: TrainingResult, test_data: pd.DataFrame, model_registry: ModelRegistryResource
) -> dg.MaterializeResult:
    """Every trained model, saved with its model card in trained-models/ and ranked on the newest
    test set; paste a `model_name` from the table into deployed_model's Launchpad config."""
    registry = model_registry.open()
    entry = registry.register(trained_model.model, trained_model.summary)
    rows = candidate_rows(registry, test_data)
    recommended = recommend(rows)
    columns = [column.name for column in CANDIDATES_SCHEMA.columns]
    return dg.MaterializeResult(
        metadata={
            "new_model": entry.name,
            "recommended_model": recommended or "none",
            "num_candidates": len(rows),
            "candidates": dg.MetadataValue.table(
                records=[
                    dg.TableRecord({c: row[c] for c in columns if row[c] is not None})
                    for row in rows
                ],
                schema=CANDIDATES_SCHEMA,
            ),
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


@dg.asset(group_name=GROUP, kinds={"scikitlearn"}, deps=[production_model_candidates])
def deployed_model(
    config: DeployedModelConfig, model_registry: ModelRegistryResource
) -> dg.Output[DeploymentRecord]:
    """The model that scores new readings: chosen in the Launchpad, checked against the registry."""
    registry = model_registry.open()
    try:
        _model, entry = registry.load(config.model_name)
    except RegistryError as exc:
        raise dg.Failure(description=str(exc)) from None
    registry.mark_deployed(entry)
    return dg.Output(
        DeploymentRecord(name=entry.name, sha256=entry.sha256), metadata=_entry_metadata(entry)
    )
