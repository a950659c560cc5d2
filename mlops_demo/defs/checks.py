"""Every asset check, named as what it asserts, with the observed and expected values in its
metadata: one module, so a reader finds every predicate the loop relies on in one place. Blocking
checks stop the automation downstream of a failure. Three are evaluated inside the asset they
judge (their spec and result are here): devices_at_risk's two, on exactly what it scored, and
deployed_model_performance's, on the figures it just computed."""

import dagster as dg
import pandas as pd

from mlops_demo.core import drift
from mlops_demo.core.performance import ModelPerformance, decay_verdict
from mlops_demo.core.records import READING_FIELDS, UDI
from mlops_demo.core.registry import ModelEntry, RegistryError
from mlops_demo.core.streams import READINGS, STATUSES, Stream
from mlops_demo.defs.metadata import NAN, newest_metadata, plotted_number, table_cell
from mlops_demo.defs.resources import SettingsResource

# Models ----------------------------------------------------------------------------------


@dg.asset_check(asset="trained_model", blocking=True)
def trained_model_f1_meets_floor(
    trained_model: ModelEntry, settings: SettingsResource
) -> dg.AssetCheckResult:
    """The new model's F1 on the held-out window is at least MLOPS_MIN_F1; a model below it
    never becomes a candidate by itself."""
    floor = settings.min_f1
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
    deployed_model: ModelEntry, settings: SettingsResource
) -> dg.AssetCheckResult:
    """The deployed model's file still hashes to the SHA-256 the registry recorded for it."""
    try:
        entry = settings.registry().verify(deployed_model.name)
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
        context: dg.AssetCheckExecutionContext, settings: SettingsResource
    ) -> dg.AssetCheckResult:
        counted = settings.store(stream).count_missing(stream.fields, _rows_passed_before(context))
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
    def quarantine_share_below_limit(
        context: dg.AssetCheckExecutionContext, settings: SettingsResource
    ) -> dg.AssetCheckResult:
        limit = settings.max_quarantine_share
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


REFUSED_SHARE_BELOW_LIMIT = dg.AssetCheckSpec(
    "devices_at_risk_refused_share_below_limit",
    asset="devices_at_risk",
    description="The deployed model refused at most MLOPS_MAX_REFUSED_SHARE of the readings it "
    "was given: more means its trained domain no longer covers the plant, and it should be "
    "retrained on newer readings.",
)


def refused_share_below_limit(
    unknown: int, refused: int, settings: SettingsResource
) -> dg.AssetCheckResult:
    share = refused / unknown if unknown else 0.0
    return dg.AssetCheckResult(
        check_name=REFUSED_SHARE_BELOW_LIMIT.name,
        passed=share <= settings.max_refused_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "observed_share": share,
            "expected_at_most": settings.max_refused_share,
            "num_unknown": unknown,
            "num_refused": refused,
        },
    )


# Monitoring (the realized-F1 check is evaluated inside deployed_model_performance) --------

REALIZED_F1_HOLDS = dg.AssetCheckSpec(
    "deployed_model_performance_realized_f1_holds",
    asset="deployed_model_performance",
    description="The deployed model's realized F1, over at least MLOPS_MIN_LABELLED_PREDICTIONS "
    "labelled predictions, is no more than MLOPS_REALIZED_F1_MARGIN below its test F1.",
)


def realized_f1_holds(
    performance: ModelPerformance | None, test_f1: float, settings: SettingsResource
) -> dg.AssetCheckResult:
    minimum, margin = settings.min_labelled_predictions, settings.realized_f1_margin
    verdict = decay_verdict(performance, test_f1, minimum, margin)
    return dg.AssetCheckResult(
        check_name=REALIZED_F1_HOLDS.name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict.description,
        metadata={
            "verdict": verdict.description,
            "realized_f1": plotted_number(performance.cumulative.f1) if performance else NAN,
            "test_f1": test_f1,
            "shortfall": plotted_number(verdict.shortfall),
            "allowed_margin": margin,
            "labelled_predictions": performance.cumulative.labelled if performance else 0,
            "min_labelled_predictions": minimum,
        },
    )


# Drift: a check on cleaned_readings, so it runs in every readings ingestion run, on what that
# run stored, and shows on the asset the drift is about. --------------------------------------


DRIFT_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("feature", "string"),
        dg.TableColumn("test", "string"),
        dg.TableColumn("statistic", "float"),
        dg.TableColumn("p_value", "float", description="at the effective sample size"),
        dg.TableColumn("psi", "float", description="population stability index"),
        dg.TableColumn("training_mean", "float"),
        dg.TableColumn("newest_mean", "float"),
        dg.TableColumn("autocorrelation_time", "float"),
        dg.TableColumn("drifted", "bool"),
    ]
)


def _drift_table(results: list[drift.FeatureDrift]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        [
            dg.TableRecord(
                {
                    "feature": r.feature,
                    "test": r.test,
                    "statistic": round(r.statistic, 4),
                    "p_value": float(f"{r.p_value:.3g}"),
                    "psi": round(r.psi, 4),
                    "training_mean": table_cell(r.reference_mean),
                    "newest_mean": table_cell(r.newest_mean),
                    "autocorrelation_time": round(r.autocorrelation_time, 1),
                    "drifted": r.drifted,
                }
            )
            for r in results
        ],
        schema=DRIFT_SCHEMA,
    )


def _thresholds(settings: SettingsResource) -> drift.DriftThresholds:
    return drift.DriftThresholds(
        p_value=settings.drift_p_value,
        psi=settings.drift_psi,
        min_readings=settings.drift_min_readings,
        window=settings.drift_window,
    )


def _no_verdict(reason: str) -> dg.AssetCheckResult:
    # A check cannot be skipped from inside; it passes and says plainly that it judged nothing.
    return dg.AssetCheckResult(
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"no verdict: {reason}",
        metadata={"verdict": f"no verdict: {reason}"},
    )


@dg.asset_check(asset="cleaned_readings", name="cleaned_readings_resemble_training_data")
def cleaned_readings_resemble_training_data(
    settings: SettingsResource,
) -> dg.AssetCheckResult:
    """The newest MLOPS_DRIFT_WINDOW readings against the deployed model's training readings,
    feature by feature: a feature drifts when its test's p-value is below MLOPS_DRIFT_P_VALUE
    and its population stability index at least MLOPS_DRIFT_PSI. No model deployed, or fewer
    than MLOPS_DRIFT_MIN_READINGS readings on either side, gives no verdict."""
    champion = settings.registry().champion()
    if champion is None:
        return _no_verdict("no model is deployed, so there is no training data to compare with")
    thresholds = _thresholds(settings)
    readings, trained_through = settings.store(READINGS), champion.trained_through_udi
    reference = readings.read_range(
        READING_FIELDS, last_udi=trained_through, newest=thresholds.reference_rows
    )
    newest = readings.read_range(
        READING_FIELDS, first_udi=trained_through + 1, newest=thresholds.window
    )
    reason = drift.skip_reason(reference, newest, thresholds.min_readings)
    if reason:
        return _no_verdict(reason)
    results = drift.compare(reference, newest, tuple(champion.features), thresholds)
    verdict = drift.summary(results)
    return dg.AssetCheckResult(
        passed=not any(r.drifted for r in results),
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict,
        metadata={
            "verdict": verdict,
            "model_name": champion.name,
            "features": _drift_table(results),
            "drifted_features": dg.MetadataValue.json([r.feature for r in results if r.drifted]),
            "training_readings": len(reference),
            "newest_readings": len(newest),
            "newest_udis": f"{int(newest[UDI].min())}-{int(newest[UDI].max())}",
            "p_value_below": thresholds.p_value,
            "psi_at_least": thresholds.psi,
        },
    )
