"""Inference: the machines the deployed model expects to fail."""

import dagster as dg

from mlops_demo.core import modelling
from mlops_demo.core.records import PRODUCT_ID, READING_FIELDS, UDI
from mlops_demo.core.registry import RegistryError
from mlops_demo.core.streams import READINGS
from mlops_demo.defs.deployment import DeploymentRecord
from mlops_demo.defs.resources import ModelRegistryResource, StoreResource

RISKIEST_SHOWN = 20
RISKIEST_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("UDI", "int"),
        dg.TableColumn("product_id", "string"),
        dg.TableColumn("failure_probability", "float"),
        dg.TableColumn("at_risk", "bool"),
    ]
)


class InferenceConfig(dg.Config):
    """How many of the newest readings (by UDI) to score."""

    newest_readings: int = 500


def _riskiest_table(scored) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "UDI": int(row[UDI]),
                    "product_id": row[PRODUCT_ID],
                    "failure_probability": float(row["failure_probability"]),
                    "at_risk": bool(row["at_risk"]),
                }
            )
            for _, row in scored.head(RISKIEST_SHOWN).iterrows()
        ],
        schema=RISKIEST_SCHEMA,
    )


@dg.asset(
    group_name="inference",
    kinds={"scikitlearn"},
    deps=["historic_readings"],
    automation_condition=dg.AutomationCondition.eager(),
)
def devices_at_risk(
    config: InferenceConfig,
    deployed_model: DeploymentRecord,
    store: StoreResource,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """The newest readings scored by the deployed model: which machines are predicted to fail."""
    try:
        model, entry = model_registry.open().load(deployed_model.name)
    except RegistryError as exc:
        raise dg.Failure(description=f"the deployed model cannot be used: {exc}") from None
    readings = store.open(READINGS).read_frame(READING_FIELDS)
    scored = modelling.score_newest(model, readings, config.newest_readings)
    at_risk = scored[scored["at_risk"]]
    return dg.MaterializeResult(
        metadata={
            "model_name": entry.name,
            "num_scored": len(scored),
            "num_at_risk": len(at_risk),
            "devices_at_risk": dg.MetadataValue.json(sorted(int(u) for u in at_risk[UDI])),
            "riskiest": _riskiest_table(scored),
        }
    )
