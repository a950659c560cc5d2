"""Inference: the machines the deployed model expects to fail."""

import dagster as dg

from mlops_demo import modelling
from mlops_demo import records as r
from mlops_demo.deployment import DeploymentRecord
from mlops_demo.ingestion import historic_readings
from mlops_demo.registry import RegistryError
from mlops_demo.resources import DataDirResource
from mlops_demo.streams import READINGS

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


@dg.asset(
    group_name="inference",
    deps=[historic_readings],
    automation_condition=dg.AutomationCondition.eager(),
)
def devices_at_risk(
    config: InferenceConfig, deployed_model: DeploymentRecord, data: DataDirResource
) -> dg.MaterializeResult:
    """The newest readings scored by the deployed model: which machines are predicted to fail."""
    try:
        model, entry = data.registry().load(deployed_model.name)
    except RegistryError as exc:
        raise dg.Failure(description=f"the deployed model cannot be used: {exc}") from None
    readings = data.store(READINGS).read_frame(r.READING_FIELDS)
    scored = modelling.score_newest(model, readings, config.newest_readings)
    at_risk = scored[scored["at_risk"]]
    return dg.MaterializeResult(
        metadata={
            "model_name": entry.name,
            "num_scored": len(scored),
            "num_at_risk": len(at_risk),
            "devices_at_risk": dg.MetadataValue.json(sorted(int(u) for u in at_risk[r.UDI])),
            "riskiest": dg.MetadataValue.table(
                records=[
                    dg.TableRecord(
                        {
                            "UDI": int(row[r.UDI]),
                            "product_id": row[r.PRODUCT_ID],
                            "failure_probability": float(row["failure_probability"]),
                            "at_risk": bool(row["at_risk"]),
                        }
                    )
                    for _, row in scored.head(RISKIEST_SHOWN).iterrows()
                ],
                schema=RISKIEST_SCHEMA,
            ),
        }
    )
