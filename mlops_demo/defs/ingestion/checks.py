"""The checks each stream's ingestion step evaluates on its cleaned asset, after storing: the
stores' two, and for the readings the drift check, so that an ingestion run is one step (each
step is a share of Dagster's cost per run, docs/benchmarks.md); "Execute" in the UI runs one
alone. The drift module (and pandas with it) is imported only once a model is deployed: every
run imports this module (`bench/run_start.py` measures the start)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.core.messages.records import READING_FIELDS, UDI
from mlops_demo.core.messages.streams import READINGS, Stream
from mlops_demo.core.storage.protocol import IngestCounts
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.metadata import newest_metadata, picture_metadata
from mlops_demo.defs.resources import StorageResource

if TYPE_CHECKING:
    from mlops_demo.core.monitoring import drift


@dataclass(frozen=True)
class IngestionCheck:
    """A check its stream's ingestion step evaluates after storing, so that a run is one step
    (each step is a share of Dagster's cost per run, docs/benchmarks.md); "Execute" in the UI
    runs it alone. `evaluate` gets what the step just stored into the cleaned asset, or None
    when the step did not store (the check run alone)."""

    spec: dg.AssetCheckSpec
    evaluate: Callable[
        [dg.AssetExecutionContext, StorageResource, IngestionSettings, IngestCounts | None],
        dg.AssetCheckResult,
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
        context: dg.AssetExecutionContext,
        storage: StorageResource,
        _settings: IngestionSettings,
        _stored: object,
    ) -> dg.AssetCheckResult:
        skip = _rows_passed_before(context, spec.key)
        counted = storage.store(stream).count_missing(stream.fields, skip)
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
        context: dg.AssetExecutionContext,
        _storage: StorageResource,
        settings: IngestionSettings,
        stored: IngestCounts | None,
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


# Drift: a check on cleaned_readings, so it runs in every readings ingestion run, on what that
# run stored, and shows on the asset the drift is about.

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


def _thresholds(settings: IngestionSettings) -> "drift.DriftThresholds":
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
    "wander, the speed-torque relation and early tool-wear resets (core/monitoring/drift.py says "
    "why each). Holm's correction keeps the chance of any alarm on a clean batch under "
    "MLOPS_DRIFT_P_VALUE. A sensor fault stays found, and the check fails on every batch, "
    "until the sensor steps back or a person clears it (mlops-demo clear-sensor-fault); a "
    "shift the model absorbs passes with a note (core/monitoring/faults.py, policy.py). No "
    "model deployed, or fewer than MLOPS_DRIFT_MIN_READINGS readings on either side, gives no "
    "verdict.",
)


def _resemble_training_data(
    _context: dg.AssetExecutionContext,
    storage: StorageResource,
    settings: IngestionSettings,
    _stored: object,
) -> dg.AssetCheckResult:
    spec = RESEMBLE_TRAINING_DATA
    champion = storage.registry().champion()
    if champion is None:
        return _no_verdict(
            spec, "no model is deployed, so there is no training data to compare with"
        )
    # pandas: only once there is a model to compare with
    from mlops_demo.core.monitoring import drift, policy

    thresholds = _thresholds(settings)
    readings, trained_through = storage.store(READINGS), champion.trained_through_udi
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
    followed = storage.sensor_faults().follow(findings, newest[UDI].to_numpy())
    response, found = policy.drift_response(followed)
    verdict = f"{found}. Tests: {drift.summary(findings)}"
    drifted = [f for f in findings if f.drifted]
    return _result(
        spec,
        passed=response in (policy.NOTHING, policy.ABSORBED),
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict,
        metadata={
            "verdict": verdict,
            **policy.metadata(response),
            "policy": dg.MetadataValue.md(policy.as_markdown()),
            "open_sensor_faults": dg.MetadataValue.json([f.described() for f in followed.open]),
            "model_name": champion.name,
            "tests": _drift_table(findings),
            "drifted_features": dg.MetadataValue.json(sorted({f.feature for f in drifted})),
            "changes": dg.MetadataValue.json(sorted({f.test for f in drifted})),
            "training_readings": len(reference),
            "newest_readings": len(newest),
            "newest_udis": f"{first_new}-{int(newest[UDI].max())}",
            "family_p_value": thresholds.p_value,
            **_drift_picture(reference, before, newest, findings),
        },
    )


def _drift_picture(reference, before, newest, findings: list["drift.Finding"]) -> dict:
    if not any(f.drifted for f in findings):
        return {}  # matplotlib stays out of the runs that have nothing to show
    from mlops_demo.core.pictures.drift import drift_picture

    return picture_metadata("drift_picture", drift_picture(reference, before, newest, findings))


DRIFT_CHECK = IngestionCheck(RESEMBLE_TRAINING_DATA, _resemble_training_data)
