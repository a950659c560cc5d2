"""deployed_model_performance's checks, evaluated inside its step on the figures it just
computed: realized F1 holds, and statuses keep arriving."""

from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.defs.metadata import NAN, plotted_number
from mlops_demo.defs.monitoring.settings import MonitoringSettings

if TYPE_CHECKING:
    from mlops_demo.core.monitoring.performance import Expected, ModelPerformance


REALIZED_F1_HOLDS = dg.AssetCheckSpec(
    "deployed_model_performance_realized_f1_holds",
    asset="deployed_model_performance",
    description="The newest labelled scoring batch (at least MLOPS_MIN_LABELLED_PREDICTIONS "
    "labels) is as good as the deployed model is expected to be: its recall and precision "
    "against the forward-chained evaluation's, with their uncertainty; it warns when a batch "
    "this poor had less than MLOPS_DECAY_P_VALUE chance.",
)
STATUSES_KEEP_ARRIVING = dg.AssetCheckSpec(
    "deployed_model_performance_statuses_keep_arriving",
    asset="deployed_model_performance",
    description="No more than MLOPS_MAX_UNLABELLED_READINGS stored readings wait for their "
    "status: more means the statuses stopped arriving, and realized performance goes stale.",
)


def realized_f1_holds(
    performance: "ModelPerformance | None",
    expected: "Expected",
    settings: MonitoringSettings,
    open_faults: list[str],
    last_batch_first_udi: int | None,
) -> dg.AssetCheckResult:
    """The newest labelled batch against what the model is expected to do, and what the loop
    does about it: a decay retrains on the labels from the decayed batch's first reading on
    (`last_batch_first_udi`), unless a sensor fault is open (`open_faults`, described)."""
    from mlops_demo.core.monitoring import policy
    from mlops_demo.core.monitoring.performance import decay_verdict

    minimum, p_value = settings.min_labelled_predictions, settings.decay_p_value
    verdict = decay_verdict(performance, expected, minimum, p_value)
    if verdict.passed:
        response = policy.HOLDS
    else:
        response = policy.DECAY_DURING_FAULT if open_faults else policy.DECAY
    description = verdict.description
    if not verdict.passed:
        during = f" ({'; '.join(open_faults)})" if open_faults else ""
        description += f". {response.action.capitalize()}{during}"
    batch = performance.last_batch if performance else None
    return dg.AssetCheckResult(
        check_name=REALIZED_F1_HOLDS.name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "verdict": description,
            **policy.metadata(response),
            "policy": dg.MetadataValue.md(policy.as_markdown()),
            "open_sensor_faults": dg.MetadataValue.json(open_faults),
            "last_batch_first_udi": last_batch_first_udi if last_batch_first_udi else 0,
            "realized_f1": plotted_number(performance.cumulative.f1) if performance else NAN,
            "last_batch_recall": plotted_number(batch.recall if batch else None),
            "last_batch_precision": plotted_number(batch.precision if batch else None),
            "expected_recall": expected.recall,
            "expected_precision": expected.precision,
            "expected_from": expected.source,
            "chance_of_a_batch_this_poor": plotted_number(verdict.p_value),
            "warns_below": p_value,
            "last_batch_labelled": batch.labelled if batch else 0,
            "min_labelled_predictions": minimum,
        },
    )


def statuses_keep_arriving(
    waiting: int, first_waiting_udi: int | None, newest_status_at: str, settings: MonitoringSettings
) -> dg.AssetCheckResult:
    limit = settings.max_unlabelled_readings
    since = (
        f"since UDI {first_waiting_udi}; the newest status was stored {newest_status_at}"
        if first_waiting_udi is not None
        else "none waits"
    )
    description = f"{waiting} stored readings wait for their status ({since})"
    if waiting > limit:
        description += (
            f": more than {limit}, so the statuses have stopped arriving. Check the "
            "daily_statuses queue and its publisher; realized performance is stale until then"
        )
    return dg.AssetCheckResult(
        check_name=STATUSES_KEEP_ARRIVING.name,
        passed=waiting <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "verdict": description,
            "readings_waiting": waiting,
            "expected_at_most": limit,
            "first_waiting_udi": first_waiting_udi if first_waiting_udi is not None else 0,
            "newest_status_stored_at": newest_status_at,
        },
    )
