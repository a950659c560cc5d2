"""Monitoring: how the deployed model really does once the statuses arrive. Its check, and the
drift check on the readings, live with every other check in `checks.py`. The measuring modules
(and pandas with them) are imported by the functions that measure: checks.py says why."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.core.messages.records import FAILURE_TYPE, TARGET, UDI
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.core.registry.card import named_mode_sentence, recall_by_type_markdown
from mlops_demo.core.registry.entries import NOT_ENOUGH_EVIDENCE, TRAINED, ModelEntry
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.core.storage.predictions import MODEL
from mlops_demo.defs.automation import AFTER_EVERY_UPDATE
from mlops_demo.defs.metadata import NAN, picture_metadata, plotted_number, table_cell
from mlops_demo.defs.monitoring.checks import (
    REALIZED_F1_HOLDS,
    STATUSES_KEEP_ARRIVING,
    realized_f1_holds,
    statuses_keep_arriving,
)
from mlops_demo.defs.monitoring.settings import MonitoringSettings
from mlops_demo.defs.resources import StorageResource
from mlops_demo.defs.training.settings import GateSettings

if TYPE_CHECKING:
    import pandas as pd

    from mlops_demo.core.monitoring.performance import Expected, ModelPerformance

GROUP = "monitoring"
PERFORMANCE_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("model_name", "string"),
        dg.TableColumn("since", "string", description="its first deployment"),
        dg.TableColumn("predictions", "int"),
        dg.TableColumn("waiting", "int", description="predictions whose status has not arrived"),
        dg.TableColumn("failures_caught", "int"),
        dg.TableColumn("failures_missed", "int"),
        dg.TableColumn("false_alarms", "int"),
        dg.TableColumn("precision", "float"),
        dg.TableColumn("recall", "float"),
        dg.TableColumn("f1", "float"),
        dg.TableColumn("last_batch_labelled", "int"),
        dg.TableColumn("last_batch_f1", "float"),
    ]
)


def _performance_row(performance: "ModelPerformance") -> dg.TableRecord:
    total, batch = performance.cumulative, performance.last_batch
    return dg.TableRecord(
        {
            "model_name": performance.model,
            "since": performance.since or "",
            "predictions": performance.predictions,
            "waiting": performance.waiting,
            "failures_caught": total.caught,
            "failures_missed": total.missed,
            "false_alarms": total.false_alarms,
            "precision": table_cell(total.precision),
            "recall": table_cell(total.recall),
            "f1": table_cell(total.f1),
            "last_batch_labelled": batch.labelled,
            "last_batch_f1": table_cell(batch.f1),
        }
    )


def _first_deployments(registry: ModelRegistry) -> dict[str, str]:
    first: dict[str, str] = {}
    for deployment in registry.history():
        first.setdefault(deployment.model, deployment.deployed_at)
    return first


def _champion_metadata(performance: "ModelPerformance | None") -> dict:
    """Plain numbers, which Dagster can chart over time."""
    if performance is None:
        return {}
    total, batch = performance.cumulative, performance.last_batch
    return {
        "realized_f1": plotted_number(total.f1),
        "realized_precision": plotted_number(total.precision),
        "realized_recall": plotted_number(total.recall),
        "labelled_predictions": total.labelled,
        "waiting_predictions": performance.waiting,
        "failures_caught": total.caught,
        "failures_missed": total.missed,
        "false_alarms": total.false_alarms,
        "last_batch_f1": plotted_number(batch.f1),
        "last_batch_labelled": batch.labelled,
        "failures_by_type": dg.MetadataValue.md(_failure_types_markdown(performance)),
        "named_mode_right": performance.named_mode["named_correctly"],
        "named_mode_judged": performance.named_mode["caught"],
        **_estimate_beside_outcome(performance),
    }


def _estimate_beside_outcome(performance: "ModelPerformance") -> dict:
    """The newest labelled batch's morning estimate set beside what happened."""
    batch, promised = performance.last_batch, performance.last_batch_estimate
    if not batch.labelled:
        return {}
    failures = batch.caught + batch.missed
    low, high = promised.interval
    estimated_f1 = "undefined" if promised.f1 is None else f"{promised.f1:.3f}"
    realized_f1 = "undefined" if batch.f1 is None else f"{batch.f1:.3f}"
    return {
        "last_batch_failures": failures,
        "last_batch_expected_failures": round(promised.expected_failures, 1),
        "last_batch_estimated_f1": plotted_number(promised.f1),
        "last_batch_estimate": (
            f"expected {promised.expected_failures:.1f} failures (90 % interval {low}-{high}), "
            f"{failures} came{'' if low <= failures <= high else ': outside the interval'}; "
            f"estimated F1 {estimated_f1}, realized {realized_f1}"
        ),
    }


def _failure_types_markdown(performance: "ModelPerformance") -> str:
    if not performance.by_failure_type:
        return "No labelled failure yet."
    return (
        f"{recall_by_type_markdown(performance.by_failure_type)}\n\n"
        f"{named_mode_sentence(performance.named_mode)}"
    )


@dg.asset(
    group_name=GROUP,
    kinds={"pandas"},
    deps=["devices_at_risk", "historic_daily_statuses"],
    automation_condition=AFTER_EVERY_UPDATE,
    check_specs=[REALIZED_F1_HOLDS, STATUSES_KEEP_ARRIVING],
)
def deployed_model_performance(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    gate_settings: GateSettings,
    monitoring_settings: MonitoringSettings,
) -> dg.MaterializeResult:
    """Each deployed model's predictions against the statuses that arrived since: precision,
    recall and F1 on failures, failures caught and missed, false alarms, and the predictions
    still waiting, cumulative since it was deployed and for the newest labelled scoring
    batch. Runs by itself when statuses or predictions arrive; its checks judge the newest
    batch against what the deployed model is expected to do, and warn when statuses stop
    arriving."""
    from mlops_demo.core.monitoring.performance import Expected, expected_of, realized_performance

    registry = storage.registry()
    champion = registry.champion()
    log = storage.predictions().read_frame()
    # Only the statuses that can label a prediction: a store holds millions.
    statuses = storage.store(STATUSES).read_range(
        (UDI, TARGET, FAILURE_TYPE),
        first_udi=int(log[UDI].min()) if len(log) else 0,
        last_udi=int(log[UDI].max()) if len(log) else -1,
    )
    everyone = realized_performance(log, statuses, _first_deployments(registry))
    current = next((p for p in everyone if champion and p.model == champion.name), None)
    test_f1 = champion.metrics["f1"] if champion else NAN
    expected = (
        expected_of(champion.evaluation, champion.confusion_matrix)
        if champion
        else Expected(0, 0, 0, "no model deployed")
    )
    return dg.MaterializeResult(
        metadata={
            **_shadow_gate(context, registry, champion, log, statuses, gate_settings),
            "deployed_model": champion.name if champion else "",
            "test_f1": test_f1,
            **_champion_metadata(current),
            "models": dg.MetadataValue.table(
                [_performance_row(p) for p in everyone], schema=PERFORMANCE_SCHEMA
            ),
            **_performance_picture(
                registry, champion, log, statuses, expected, monitoring_settings
            ),
        },
        check_results=[
            realized_f1_holds(
                current,
                expected,
                monitoring_settings,
                _open_faults(storage),
                _first_udi_of_last_batch(log, current),
            ),
            _statuses_keep_arriving(context, storage, monitoring_settings),
        ],
    )


def _first_udi_of_last_batch(
    log: "pd.DataFrame", performance: "ModelPerformance | None"
) -> int | None:
    """Where the newest labelled batch began: a decay there is where the plant changed."""
    if performance is None or performance.last_batch_predicted_at is None:
        return None
    batch = log[(log[MODEL] == performance.model)
                & (log["predicted_at"] == performance.last_batch_predicted_at)]  # fmt: skip
    return int(batch[UDI].min()) if len(batch) else None


def _open_faults(storage: StorageResource) -> list[str]:
    return [f.described() for f in storage.sensor_faults().read() if f.is_open]


# The newest labelled batches drawn: a month of mornings stays readable.
BATCHES_DRAWN = 30


def _performance_picture(
    registry: ModelRegistry,
    champion: ModelEntry | None,
    log: "pd.DataFrame",
    statuses: "pd.DataFrame",
    expected: "Expected",
    settings: MonitoringSettings,
) -> dict:
    from mlops_demo.core.monitoring.performance import batch_history
    from mlops_demo.core.pictures.monitoring import performance_picture

    batches = batch_history(log, statuses, champion.name)[-BATCHES_DRAWN:] if champion else []
    if not batches:
        return {}
    shadow = registry.shadow()
    beside = (
        (shadow.name, batch_history(log, statuses, shadow.name))
        if shadow is not None and shadow.name != champion.name
        else None
    )
    picture = performance_picture(
        champion.name, batches, expected, settings.min_labelled_predictions,
        settings.decay_p_value, beside,
    )  # fmt: skip
    return picture_metadata("performance_picture", picture)


def _shadow_gate(
    context: dg.AssetExecutionContext,
    registry: ModelRegistry,
    champion: ModelEntry | None,
    log: "pd.DataFrame",
    statuses: "pd.DataFrame",
    gate_settings: GateSettings,
) -> dict:
    """The gate on live evidence: the shadow's verdicts against the champion's on the same
    readings, labelled since. A model that waited for evidence becomes a candidate or is
    rejected once the evidence settles it; a candidate's live verdict is reported only."""
    from mlops_demo.core.monitoring.performance import paired_verdicts
    from mlops_demo.core.registry.gate import live_gate

    shadow = registry.shadow()
    if champion is None or shadow is None:
        return {"shadow_model": "none", "shadow_verdict": "no model scores beside the champion"}
    pairs = paired_verdicts(log, statuses, champion.name, shadow.name)
    gate = live_gate(
        pairs.failed, pairs.second, pairs.first, pairs.udis, champion.name,
        gate_settings.champion_margin, gate_settings.gate_min_failures,
    )  # fmt: skip
    status = registry.statuses()[shadow.name]
    if status == TRAINED and gate.outcome != NOT_ENOUGH_EVIDENCE:
        status = registry.record_live_gate(shadow.name, gate)
        context.log.info(f"{shadow.name} is now {status}: {gate.reason}")
    return {
        "shadow_model": shadow.name,
        "shadow_status": status,
        "shadow_labelled": len(pairs.udis),
        "shadow_outcome": gate.outcome,
        "shadow_verdict": gate.reason,
    }


def _statuses_keep_arriving(
    context: dg.AssetExecutionContext, storage: StorageResource, settings: MonitoringSettings
) -> dg.AssetCheckResult:
    readings = storage.store(READINGS)
    waiting = readings.udis_not_in(storage.store(STATUSES))
    newest = context.instance.get_latest_materialization_event(
        dg.AssetKey("cleaned_daily_statuses")
    )
    stored_at = (
        datetime.fromtimestamp(newest.timestamp, UTC).isoformat(timespec="seconds")
        if newest
        else "never"
    )
    first = int(waiting.min()) if len(waiting) else None
    return statuses_keep_arriving(len(waiting), first, stored_at, settings)
