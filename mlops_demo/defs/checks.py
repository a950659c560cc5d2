"""Every asset check, named as what it asserts, with the observed and expected values in its
metadata: one module, so a reader finds every predicate the loop relies on in one place. Blocking
checks stop the automation downstream of a failure. The model checks are steps of their own; the
others are evaluated inside the step they judge (their spec and evaluation are here): the
stores' and the drift check in their stream's ingestion step, devices_at_risk's two on exactly
what it scored, and deployed_model_performance's two on the figures it just computed.

The drift and decay modules (and pandas with them) are imported by the checks that use them:
every run imports this module, and an ingestion run with no model deployed needs neither
(`bench/run_start.py` measures the start)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.core.messages.records import READING_FIELDS, UDI
from mlops_demo.core.messages.streams import READINGS, Stream
from mlops_demo.core.registry.entries import ModelEntry, RegistryError
from mlops_demo.core.storage.protocol import IngestCounts
from mlops_demo.defs.metadata import NAN, newest_metadata, plotted_number
from mlops_demo.defs.resources import SettingsResource

if TYPE_CHECKING:
    import pandas as pd

    from mlops_demo.core.monitoring import drift
    from mlops_demo.core.monitoring.performance import Expected, ModelPerformance

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


# Stores: evaluated in their stream's ingestion step ----------------------------------------


@dataclass(frozen=True)
class IngestionCheck:
    """A check its stream's ingestion step evaluates after storing, so that a run is one step
    (each step is a share of Dagster's cost per run, docs/benchmarks.md); "Execute" in the UI
    runs it alone. `evaluate` gets what the step just stored into the cleaned asset, or None
    when the step did not store (the check run alone)."""

    spec: dg.AssetCheckSpec
    evaluate: Callable[
        [dg.AssetExecutionContext, SettingsResource, IngestCounts | None], dg.AssetCheckResult
    ]


def _result(spec: dg.AssetCheckSpec, **kwargs) -> dg.AssetCheckResult:
    # Inside a step of several assets, a result must say which check it is.
    return dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, **kwargs)


def _rows_passed_before(context: dg.AssetExecutionContext, key: dg.AssetCheckKey) -> int:
    """How many records the last evaluation in another run saw passing (0 if it failed)."""
    history = context.instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    for record in history:
        evaluation = record.evaluation  # a run killed before its checks left one only planned
        if record.run_id != context.run.run_id and isinstance(evaluation, dg.AssetCheckEvaluation):
            rows = evaluation.metadata.get("rows")
            return int(rows.value) if evaluation.passed and rows is not None else 0
    return 0


def _has_every_required_column(stream: Stream, asset: str) -> IngestionCheck:
    spec = dg.AssetCheckSpec(
        f"{asset}_has_every_required_column",
        asset=asset,
        description=f"Every stored {stream.name} record has every field, none of them empty. "
        "The JSONL store's records are counted from where the last passing evaluation "
        "stopped, so a run reads what it stored, not the whole store; after a failure, all.",
    )

    def evaluate(
        context: dg.AssetExecutionContext, settings: SettingsResource, _stored: object
    ) -> dg.AssetCheckResult:
        skip = _rows_passed_before(context, spec.key)
        counted = settings.store(stream).count_missing(stream.fields, skip)
        return _result(
            spec,
            passed=not any(counted.missing.values()),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "expected_columns": dg.MetadataValue.json(list(stream.fields)),
                "rows_missing_a_value": dg.MetadataValue.json(counted.missing),
                "rows": counted.rows,
                "rows_checked": counted.checked,
            },
        )

    return IngestionCheck(spec, evaluate)


def _quarantine_share_below_limit(stream: Stream, asset: str) -> IngestionCheck:
    spec = dg.AssetCheckSpec(
        f"{asset}_quarantine_share_below_limit",
        asset=asset,
        description=f"The last run quarantined at most MLOPS_MAX_QUARANTINE_SHARE of the "
        f"{stream.name} it received.",
    )

    def evaluate(
        context: dg.AssetExecutionContext, settings: SettingsResource, stored: IngestCounts | None
    ) -> dg.AssetCheckResult:
        if stored is None:  # run alone: the newest run that stored
            newest = newest_metadata(context.instance, dg.AssetKey(asset))
            received = newest.get("messages_received", 0)
            quarantined = newest.get("records_quarantined", 0)
        else:
            received, quarantined = stored.received, stored.quarantined
        limit = settings.max_quarantine_share
        share = quarantined / received if received else 0.0
        return _result(
            spec,
            passed=share <= limit,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "observed_share": share,
                "expected_at_most": limit,
                "messages_received": received,
                "records_quarantined": quarantined,
            },
        )

    return IngestionCheck(spec, evaluate)


def ingestion_checks(stream: Stream, asset: str) -> list[IngestionCheck]:
    """The checks the stream's ingestion step evaluates on its cleaned asset: the store's two,
    and for the readings the drift check."""
    checks = [
        _has_every_required_column(stream, asset),
        _quarantine_share_below_limit(stream, asset),
    ]
    return [*checks, DRIFT_CHECK] if DRIFT_CHECK.spec.asset_key == dg.AssetKey(asset) else checks


# Inference (evaluated inside devices_at_risk, on exactly what it scored) -----------------

SCORED_ONLY_UNKNOWN = dg.AssetCheckSpec(
    "devices_at_risk_scored_only_unknown_readings",
    asset="devices_at_risk",
    description="Every scored reading had no status yet, and every probability is in [0, 1].",
)


def scored_only_unknown_readings(
    scored: "pd.DataFrame", statuses: "pd.DataFrame"
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
    performance: "ModelPerformance | None", expected: "Expected", settings: SettingsResource
) -> dg.AssetCheckResult:
    from mlops_demo.core.monitoring.performance import decay_verdict

    minimum, p_value = settings.min_labelled_predictions, settings.decay_p_value
    verdict = decay_verdict(performance, expected, minimum, p_value)
    batch = performance.last_batch if performance else None
    return dg.AssetCheckResult(
        check_name=REALIZED_F1_HOLDS.name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict.description,
        metadata={
            "verdict": verdict.description,
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
    waiting: int, first_waiting_udi: int | None, newest_status_at: str, settings: SettingsResource
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


# Drift: a check on cleaned_readings, so it runs in every readings ingestion run, on what that
# run stored, and shows on the asset the drift is about. --------------------------------------


DRIFT_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("test", "string", description="step, stuck, distribution, relation, ..."),
        dg.TableColumn("feature", "string"),
        dg.TableColumn("statistic", "float"),
        dg.TableColumn("p_value", "float", description="before Holm's correction"),
        dg.TableColumn("drifted", "bool", description="after Holm's correction"),
        dg.TableColumn("detail", "string", description="the change in the reading's units"),
    ]
)


def _drift_table(findings: list["drift.Finding"]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        [
            dg.TableRecord(
                {
                    "test": f.test,
                    "feature": f.feature,
                    "statistic": round(f.statistic, 4),
                    "p_value": float(f"{f.p_value:.3g}"),
                    "drifted": f.drifted,
                    "detail": f.detail,
                }
            )
            for f in findings
        ],
        schema=DRIFT_SCHEMA,
    )


def _thresholds(settings: SettingsResource) -> "drift.DriftThresholds":
    from mlops_demo.core.monitoring import drift

    return drift.DriftThresholds(
        p_value=settings.drift_p_value,
        min_readings=settings.drift_min_readings,
        window=settings.drift_window,
    )


def _no_verdict(spec: dg.AssetCheckSpec, reason: str) -> dg.AssetCheckResult:
    # A check cannot be skipped from inside; it passes and says plainly that it judged nothing.
    return _result(
        spec,
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"no verdict: {reason}",
        metadata={"verdict": f"no verdict: {reason}"},
    )


RESEMBLE_TRAINING_DATA = dg.AssetCheckSpec(
    "cleaned_readings_resemble_training_data",
    asset="cleaned_readings",
    description="The newest MLOPS_DRIFT_WINDOW readings against the deployed model's training "
    "readings: a step or a stuck value in the temperatures, the distribution of what does not "
    "wander, the speed-torque relation and early tool-wear resets (core/drift.py says why "
    "each). Holm's correction keeps the chance of any alarm on a clean batch under "
    "MLOPS_DRIFT_P_VALUE. No model deployed, or fewer than MLOPS_DRIFT_MIN_READINGS readings "
    "on either side, gives no verdict.",
)


def _resemble_training_data(
    _context: dg.AssetExecutionContext, settings: SettingsResource, _stored: object
) -> dg.AssetCheckResult:
    spec = RESEMBLE_TRAINING_DATA
    champion = settings.registry().champion()
    if champion is None:
        return _no_verdict(
            spec, "no model is deployed, so there is no training data to compare with"
        )
    from mlops_demo.core.monitoring import (
        drift,  # pandas: only once there is a model to compare with
    )

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
        return _no_verdict(spec, reason)
    first_new = int(newest[UDI].min())
    before = readings.read_range(READING_FIELDS, last_udi=first_new - 1, newest=1)
    findings = drift.assess(reference, before, newest, thresholds)
    verdict = drift.summary(findings)
    drifted = [f for f in findings if f.drifted]
    return _result(
        spec,
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict,
        metadata={
            "verdict": verdict,
            "model_name": champion.name,
            "tests": _drift_table(findings),
            "drifted_features": dg.MetadataValue.json(sorted({f.feature for f in drifted})),
            "changes": dg.MetadataValue.json(sorted({f.test for f in drifted})),
            "training_readings": len(reference),
            "newest_readings": len(newest),
            "newest_udis": f"{first_new}-{int(newest[UDI].max())}",
            "family_p_value": thresholds.p_value,
        },
    )


DRIFT_CHECK = IngestionCheck(RESEMBLE_TRAINING_DATA, _resemble_training_data)
