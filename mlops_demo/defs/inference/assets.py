"""Inference: today's readings, those whose status has not arrived yet, scored by the deployed
model; every prediction kept in the prediction log. Scoring's modules (and pandas with them)
are imported by the functions that score: checks.py says why."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.core.messages.records import PRODUCT_ID, READING_FIELDS, UDI
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.core.registry.entries import ModelEntry, RegistryError
from mlops_demo.core.storage.predictions import MODEL
from mlops_demo.defs.automation import AFTER_EVERY_UPDATE_NOT_SCORED_IN_ITS_RUN, SCORED_WITH_TAG
from mlops_demo.defs.inference.checks import (
    REFUSED_SHARE_BELOW_LIMIT,
    SCORED_ONLY_UNKNOWN,
    refused_share_below_limit,
    scored_only_unknown_readings,
)
from mlops_demo.defs.inference.settings import InferenceSettings
from mlops_demo.defs.metadata import picture_metadata
from mlops_demo.defs.resources import StorageResource

if TYPE_CHECKING:
    import pandas as pd

RISKIEST_SHOWN = 20
REFUSED_SHOWN = 20
RISKIEST_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("UDI", "int"),
        dg.TableColumn("product_id", "string"),
        dg.TableColumn("failure_probability", "float", description="calibrated"),
        dg.TableColumn("at_risk", "bool"),
        dg.TableColumn("failure_mode", "string", description="the limit the reading is nearest"),
        dg.TableColumn("margin", "string", description="in the reading's own units"),
        dg.TableColumn("action", "string", description="what the crew does there"),
    ]
)


def _riskiest_table(scored: "pd.DataFrame") -> dg.TableMetadataValue:
    from mlops_demo.core.plant.physics import EXPLANATION_COLUMNS

    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "UDI": int(row[UDI]),
                    "product_id": row[PRODUCT_ID],
                    "failure_probability": float(row["failure_probability"]),
                    "at_risk": bool(row["at_risk"]),
                    **{column: row[column] for column in EXPLANATION_COLUMNS},
                }
            )
            for _, row in scored.head(RISKIEST_SHOWN).iterrows()
        ],
        schema=RISKIEST_SCHEMA,
    )


def _predictions(scored: "pd.DataFrame", model_name: str, shadow: bool = False) -> list[dict]:
    from mlops_demo.core.plant.physics import EXPLANATION_COLUMNS

    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    return [
        {
            "shadow": shadow,
            UDI: int(row[UDI]),
            MODEL: model_name,
            "failure_probability": float(row["failure_probability"]),
            "at_risk": bool(row["at_risk"]),
            "predicted_at": now,
            **{column: row[column] for column in EXPLANATION_COLUMNS},
        }
        for row in scored.to_dict("records")
    ]


def _morning_estimate(scored: "pd.DataFrame", capacity: int | None) -> dict:
    """How many failures to expect among the readings scored, and how the flagged machines
    should do, from the calibrated probabilities alone: at the model's threshold, and among the
    crew's visits when a capacity is set."""
    from mlops_demo.core.monitoring.estimate import estimate

    probabilities = scored["failure_probability"].to_numpy()
    at_threshold = estimate(probabilities, scored["over_threshold"].to_numpy()).summary()
    figures = {key: value for key, value in at_threshold.items() if value is not None}
    if capacity is not None:
        visited = estimate(probabilities, scored["at_risk"].to_numpy()).summary()
        at_capacity = {
            "expected_precision_at_capacity": visited["expected_precision"],
            "expected_recall_at_capacity": visited["expected_recall"],
        }
        figures |= {key: value for key, value in at_capacity.items() if value is not None}
    return figures


def _risk_picture(scored: "pd.DataFrame") -> Iterator[dg.AssetObservation]:
    """The picture as an observation of devices_at_risk, logged once the list is stored: drawing
    it (matplotlib's import included) takes longer than the scoring, and a planner waiting for
    the list never waits for it."""
    if scored.empty:
        return
    from mlops_demo.core.pictures.inference import risk_picture

    picture = picture_metadata("risk_picture", risk_picture(scored))
    yield dg.AssetObservation(asset_key=devices_at_risk.key, metadata=picture)


def _shadow_scoring(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    capacity: int | None,
    champion: str,
    readings,
) -> dict:
    """The shadow model's verdicts on the same readings, logged as shadow and never acted on:
    the live evidence the gate weighs once their statuses arrive. A shadow that cannot score
    is left out with a warning; it never stops the champion's scoring."""
    from mlops_demo.core.model import features, scoring

    registry = storage.registry()
    shadow = registry.shadow()
    if shadow is None or shadow.name == champion or readings.empty:
        return {"shadow_model": "none", "shadow_scored": 0}
    try:
        model, entry = registry.load_scorer(shadow.name)
        outside = features.outside_signature(readings, entry.signature) != ""
    except (RegistryError, features.SignatureMismatch) as exc:
        context.log.warning(f"the shadow model {shadow.name} did not score: {exc}")
        return {"shadow_model": shadow.name, "shadow_scored": 0}
    scored = scoring.score(model, readings[~outside], capacity)
    storage.predictions().append(_predictions(scored, entry.name, shadow=True))
    return {"shadow_model": entry.name, "shadow_scored": len(scored)}


def _unknown_and_refused(entry: ModelEntry, storage: StorageResource):
    from mlops_demo.core.model import features

    # UDIs first, then only the readings to score: a store holds millions, a morning hundreds.
    readings, statuses = storage.store(READINGS), storage.store(STATUSES)
    unknown = readings.read_udis(READING_FIELDS, readings.udis_not_in(statuses))
    # Looked up again by UDI, not by the query above, for the check to hold it to.
    statuses_of_unknown = statuses.read_udis((UDI,), unknown[UDI].to_numpy())
    try:
        reasons = features.outside_signature(unknown, entry.signature)
    except features.SignatureMismatch as exc:
        raise dg.Failure(description=f"{entry.name} cannot score these readings: {exc}") from None
    refused = reasons != ""
    # The reasons of the refused only: assigning a longer Series to an empty frame would make
    # pandas adopt its index and invent one empty row per reading.
    return unknown[~refused], unknown[refused].assign(reason=reasons[refused]), statuses_of_unknown


@dg.asset(
    group_name="inference",
    kinds={"scikitlearn"},
    deps=["historic_readings", "historic_daily_statuses"],
    automation_condition=AFTER_EVERY_UPDATE_NOT_SCORED_IN_ITS_RUN,
    check_specs=[SCORED_ONLY_UNKNOWN, REFUSED_SHARE_BELOW_LIMIT],
)
def devices_at_risk(
    context: dg.AssetExecutionContext,
    deployed_model: ModelEntry,
    storage: StorageResource,
    inference_settings: InferenceSettings,
) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
    """The readings whose status has not arrived yet (today's), scored by the deployed model:
    which machines are predicted to fail. Readings outside what the model was trained on are
    refused, with the reason; every prediction is appended to the prediction log. The newest
    candidate (or model waiting for evidence) scores the same readings as a shadow, logged
    apart, so the gate can compare the two on live labels."""
    from mlops_demo.core.model import scoring

    try:
        # The hash recorded at deployment too: a file or entry changed since is never run.
        model, entry = storage.registry().load_scorer(deployed_model.name, deployed_model.sha256)
    except RegistryError as exc:
        raise dg.Failure(description=f"the deployed model cannot be used: {exc}") from None
    capacity = inference_settings.crew_capacity
    to_score, refused, statuses = _unknown_and_refused(entry, storage)
    scored = scoring.score(model, to_score, capacity)
    stored = storage.predictions().append(_predictions(scored, entry.name))
    shadow = _shadow_scoring(context, storage, capacity, entry.name, to_score)
    at_risk = scored[scored["at_risk"]]
    # Tells the automation that a deployment made earlier in this run needs no run of its own.
    context.instance.add_run_tags(context.run.run_id, {SCORED_WITH_TAG: entry.name})
    yield dg.MaterializeResult(
        metadata={
            "model_name": entry.name,
            "num_unknown": len(to_score) + len(refused),
            "num_scored": len(scored),
            "num_refused": len(refused),
            "refused": dg.MetadataValue.json(
                [
                    {"UDI": int(row[UDI]), "reason": row["reason"]}
                    for _, row in refused.head(REFUSED_SHOWN).iterrows()
                ]
            ),
            "num_at_risk": len(at_risk),
            "crew_capacity": capacity or "unlimited",
            "devices_at_risk": dg.MetadataValue.json(sorted(int(u) for u in at_risk[UDI])),
            "riskiest": _riskiest_table(scored),
            **_morning_estimate(scored, capacity),
            "predictions_stored": stored,
            **shadow,
            "note": "every reading has its status: nothing is waiting to be scored"
            if scored.empty and refused.empty
            else "",
        },
        check_results=[
            scored_only_unknown_readings(scored, statuses),
            refused_share_below_limit(
                len(to_score) + len(refused), len(refused), inference_settings
            ),
        ],
    )
    yield from _risk_picture(scored)
