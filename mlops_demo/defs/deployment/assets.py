"""Deployment: the gate that makes a trained model a candidate, and deployment or rollback from
the Launchpad."""

import dagster as dg
from pydantic import Field

from mlops_demo.core.registry.entries import PREVIOUS, ModelEntry, RegistryError
from mlops_demo.defs.automation import AFTER_PASSING_CHECKS
from mlops_demo.defs.deployment.sensors import AUTOMATIC_TAG
from mlops_demo.defs.housekeeping.settings import HousekeepingSettings
from mlops_demo.defs.metadata import picture_metadata
from mlops_demo.defs.resources import StorageResource

GROUP = "deployment"
CANDIDATES_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("model_name", "string"),
        dg.TableColumn("status", "string"),
        dg.TableColumn("window", "string"),
        dg.TableColumn("window_f1", "float"),
        dg.TableColumn("champion_window_f1", "float"),
        dg.TableColumn("newest_test_f1", "float"),
        dg.TableColumn("gate", "string"),
        dg.TableColumn("created_at", "string"),
        dg.TableColumn("problem", "string"),
    ]
)


def _table(rows: list[dict]) -> dg.TableMetadataValue:
    # Every record needs every column. A missing score is null, never NaN: the UI parses each
    # record as JSON, which has no NaN, and shows "Could not parse record" instead of the row.
    missing = {c.name: None if c.type == "float" else "" for c in CANDIDATES_SCHEMA.columns}
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({c: missing[c] if row[c] is None else row[c] for c in missing})
            for row in rows
        ],
        schema=CANDIDATES_SCHEMA,
    )


@dg.asset(group_name=GROUP, kinds={"scikitlearn"}, automation_condition=AFTER_PASSING_CHECKS)
def production_model_candidates(
    context: dg.AssetExecutionContext,
    trained_model: ModelEntry,
    test_data,
    storage: StorageResource,
    housekeeping_settings: HousekeepingSettings,
) -> dg.MaterializeResult:
    """Applies the newest model's gate on the newest labelled readings neither trained on: a
    candidate if it beats the champion by more than MLOPS_CHAMPION_MARGIN with evidence, rejected
    if it does not beat it, and left trained while the evidence is not enough yet.
    Lists every model with its status; paste the recommended `model_name` into deploy_model's
    Launchpad config. Models past MLOPS_KEEP_MODELS lose their files first (never the champion,
    one a rollback can reach, or the shadow), so the listing loads a bounded number of models."""
    # The ranking's pandas only in the runs that rank (checks.py says why).
    from mlops_demo.core.pictures.gate import gate_picture
    from mlops_demo.core.registry.ranking import candidate_rows, recommend

    registry = storage.registry()
    try:
        status = registry.decide(trained_model.name)
    except RegistryError as exc:  # the registry was reset or moved since training
        raise dg.Failure(description=f"the newest model cannot be decided on: {exc}") from None
    removed = registry.remove_old_files(housekeeping_settings.keep_models)
    if removed:
        context.log.info(f"removed the files of {len(removed)} models: {', '.join(removed)}")
    rows = candidate_rows(registry, test_data)
    recommended = recommend(rows)
    return dg.MaterializeResult(
        metadata={
            "new_model": trained_model.name,
            "new_model_status": status,
            "gate": trained_model.gate.reason,
            "recommended_model": recommended or "none",
            "num_candidates": len(rows),
            "model_files_removed": len(removed),
            "candidates": _table(rows),
            "launchpad_config": dg.MetadataValue.md(
                "```yaml\nops:\n  deployed_model:\n    config:\n"
                f"      model_name: {recommended or PREVIOUS}\n```"
            ),
            **picture_metadata("gate_picture", gate_picture(registry.entries())),
        }
    )


class DeployedModelConfig(dg.Config):
    """Which registered model to deploy."""

    model_name: str = Field(
        description="a model_name from production_model_candidates' table (the bare file name "
        f"works too), or `{PREVIOUS}` to roll back to the model deployed before the current one"
    )
    force: bool = Field(
        default=False,
        description="deploy a model that is not a candidate (rejected by the gate, or whose "
        "checks failed); the deployment is recorded as forced",
    )


@dg.asset(group_name=GROUP, kinds={"scikitlearn"}, deps=[production_model_candidates])
def deployed_model(
    context: dg.AssetExecutionContext, config: DeployedModelConfig, storage: StorageResource
) -> dg.Output[ModelEntry]:
    """The model that scores new readings: a candidate chosen in the Launchpad (`force: true` for
    any other registered model, `model_name: previous` to roll back), or promoted by the gate
    and deployed by deploy_promoted_model_sensor, its file checked against the registry's
    SHA-256. Every deployment is recorded in the registry's history."""
    automatic = AUTOMATIC_TAG in context.run.tags
    try:
        entry, deployment = storage.registry().deploy(
            config.model_name, force=config.force, automatic=automatic
        )
    except RegistryError as exc:
        raise dg.Failure(description=str(exc)) from None
    return dg.Output(
        entry,
        metadata={
            "model_name": entry.name,
            "sha256": entry.sha256,
            "previous_model": deployment.previous or "none",
            "forced": deployment.forced,
            "rollback": deployment.rollback,
            "automatic": deployment.automatic,
            **{name: float(value) for name, value in entry.metrics.items()},
        },
    )
