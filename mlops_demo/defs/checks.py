"""Asset checks that guard the loop, named as what they assert, with the observed and expected
values in their metadata. Blocking checks stop the automation downstream of a failure."""

import dagster as dg
import pandas as pd

from mlops_demo.core.records import UDI
from mlops_demo.core.registry import ModelEntry, RegistryError
from mlops_demo.core.settings import get_settings
from mlops_demo.core.streams import READINGS, STATUSES, Stream
from mlops_demo.defs.ingestion import newest_metadata
from mlops_demo.defs.resources import ModelRegistryResource, StoreResource

# Models ----------------------------------------------------------------------------------


@dg.asset_check(asset="trained_model", blocking=True)
def trained_model_f1_meets_floor(trained_model: ModelEntry) -> dg.AssetCheckResult:
    """The new model's F1 on the held-out window is at least MLOPS_MIN_F1; a model below it
    never becomes a candidate by itself."""
    floor = get_settings().min_f1
    f1 = trained_model.gate.f1
    return dg.AssetCheckResult(
        passed=f1 is not None and f1 >= floor,
        metadata={
            "model_name": trained_model.name,
            "observed_window_f1": f1 if f1 is not None else float("nan"),
            "expected_at_least": floor,
            "window_rows": trained_model.gate.window_rows,
        },
    )


@dg.asset_check(asset="deployed_model", blocking=True)
def deployed_model_matches_registry_hash(
    deployed_model: ModelEntry, model_registry: ModelRegistryResource
) -> dg.AssetCheckResult:
    """The deployed model's file still hashes to the SHA-256 the registry recorded for it."""
    try:
        entry = model_registry.open().verify(deployed_model.name)
    except RegistryError as exc:
        return dg.AssetCheckResult(
            passed=False, metadata={"model_name": deployed_model.name, "problem": str(exc)}
        )
    return dg.AssetCheckResult(
        passed=entry.sha256 == deployed_model.sha256,
        metadata={
            "model_name": entry.name,
            "expected_sha256": deployed_model.sha256,
            "observed_sha256": entry.sha256,
        },
    )


# Stores ----------------------------------------------------------------------------------


def _rows_passed_before(context: dg.AssetCheckExecutionContext) -> int:
    """How many records the last evaluation in another run saw passing (0 if it failed)."""
    [key] = context.selected_asset_check_keys
    history = context.instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    for record in history:
        evaluation = record.evaluation  # a run killed before its checks left one only planned
        if record.run_id != context.run.run_id and isinstance(evaluation, dg.AssetCheckEvaluation):
            rows = evaluation.metadata.get("rows")
            return int(rows.value) if evaluation.passed and rows is not None else 0
    return 0


def _store_checks(stream: Stream, asset: str) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=asset,
        name=f"{asset}_has_every_required_column",
        description=f"Every stored {stream.name} record has every field, none of them empty. "
        "The JSONL store's records are counted from where the last passing evaluation "
        "stopped, so a run reads what it stored, not the whole store; after a failure, all.",
    )
    def has_every_required_column(
        context: dg.AssetCheckExecutionContext, store: StoreResource
    ) -> dg.AssetCheckResult:
        counted = store.open(stream).count_missing(stream.fields, _rows_passed_before(context))
        return dg.AssetCheckResult(
            passed=not any(counted.missing.values()),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "expected_columns": dg.MetadataValue.json(list(stream.fields)),
                "rows_missing_a_value": dg.MetadataValue.json(counted.missing),
                "rows": counted.rows,
                "rows_checked": counted.checked,
            },
        )

    @dg.asset_check(
        asset=asset,
        name=f"{asset}_quarantine_share_below_limit",
        description=f"The last run quarantined at most MLOPS_MAX_QUARANTINE_SHARE of the "
        f"{stream.name} it received.",
    )
    def quarantine_share_below_limit(context: dg.AssetCheckExecutionContext):
        limit = get_settings().max_quarantine_share
        metadata = newest_metadata(context.instance, dg.AssetKey(asset))
        received = metadata.get("messages_received", 0)
        quarantined = metadata.get("records_quarantined", 0)
        share = quarantined / received if received else 0.0
        return dg.AssetCheckResult(
            passed=share <= limit,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "observed_share": share,
                "expected_at_most": limit,
                "messages_received": received,
                "records_quarantined": quarantined,
            },
        )

    return [has_every_required_column, quarantine_share_below_limit]


store_checks = [
    *_store_checks(READINGS, "cleaned_readings"),
    *_store_checks(STATUSES, "cleaned_daily_statuses"),
]


# Inference (evaluated inside devices_at_risk, on exactly what it scored) -----------------

SCORED_ONLY_UNKNOWN = dg.AssetCheckSpec(
    "devices_at_risk_scored_only_unknown_readings",
    asset="devices_at_risk",
    description="Every scored reading had no status yet, and every probability is in [0, 1].",
)


def scored_only_unknown_readings(
    scored: pd.DataFrame, statuses: pd.DataFrame
) -> dg.AssetCheckResult:
    known = sorted(set(scored[UDI]) & set(statuses[UDI]))
    probabilities = scored["failure_probability"]
    outside = int(((probabilities < 0) | (probabilities > 1)).sum())
    return dg.AssetCheckResult(
        check_name=SCORED_ONLY_UNKNOWN.name,
        passed=not known and outside == 0,
        metadata={
            "scored": len(scored),
            "scored_with_a_status": dg.MetadataValue.json([int(u) for u in known[:20]]),
            "probabilities_outside_0_1": outside,
        },
    )
