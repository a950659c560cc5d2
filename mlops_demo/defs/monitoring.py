"""Monitoring: how the deployed model really does once the statuses arrive, and whether the
readings still look like the data it learned from. Neither trains anything."""

import dagster as dg

from mlops_demo.core import drift
from mlops_demo.core.performance import ModelPerformance, decay_verdict, realized_performance
from mlops_demo.core.records import READING_FIELDS, TARGET, UDI
from mlops_demo.core.registry import ModelRegistry
from mlops_demo.core.settings import Settings, get_settings
from mlops_demo.core.streams import READINGS, STATUSES
from mlops_demo.defs.deployment import AFTER_EVERY_UPDATE
from mlops_demo.defs.resources import ModelRegistryResource, StoreResource

GROUP = "monitoring"
NAN = float("nan")
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
REALIZED_F1_HOLDS = dg.AssetCheckSpec(
    "deployed_model_performance_realized_f1_holds",
    asset="deployed_model_performance",
    description="The deployed model's realized F1, over at least MLOPS_MIN_LABELLED_PREDICTIONS "
    "labelled predictions, is no more than MLOPS_REALIZED_F1_MARGIN below its test F1.",
)


def _cell(value: float | None) -> float | None:
    # null, never NaN, in a table: the UI parses each record as JSON, which has no NaN.
    return None if value is None else round(value, 4)


def _number(value: float | None) -> float:
    return NAN if value is None else round(value, 4)


def _performance_row(performance: ModelPerformance) -> dg.TableRecord:
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
            "precision": _cell(total.precision),
            "recall": _cell(total.recall),
            "f1": _cell(total.f1),
            "last_batch_labelled": batch.labelled,
            "last_batch_f1": _cell(batch.f1),
        }
    )


def _first_deployments(registry: ModelRegistry) -> dict[str, str]:
    first: dict[str, str] = {}
    for deployment in registry.history():
        first.setdefault(deployment.model, deployment.deployed_at)
    return first


def _champion_metadata(performance: ModelPerformance | None) -> dict:
    """Plain numbers, which Dagster can chart over time."""
    if performance is None:
        return {}
    total, batch = performance.cumulative, performance.last_batch
    return {
        "realized_f1": _number(total.f1),
        "realized_precision": _number(total.precision),
        "realized_recall": _number(total.recall),
        "labelled_predictions": total.labelled,
        "waiting_predictions": performance.waiting,
        "failures_caught": total.caught,
        "failures_missed": total.missed,
        "false_alarms": total.false_alarms,
        "last_batch_f1": _number(batch.f1),
        "last_batch_labelled": batch.labelled,
    }


def _realized_f1_result(
    performance: ModelPerformance | None, test_f1: float, settings: Settings
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
            "realized_f1": _number(performance.cumulative.f1) if performance else NAN,
            "test_f1": test_f1,
            "shortfall": _number(verdict.shortfall),
            "allowed_margin": margin,
            "labelled_predictions": performance.cumulative.labelled if performance else 0,
            "min_labelled_predictions": minimum,
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"pandas"},
    deps=["devices_at_risk", "historic_daily_statuses"],
    automation_condition=AFTER_EVERY_UPDATE,
    check_specs=[REALIZED_F1_HOLDS],
)
def deployed_model_performance(
    store: StoreResource, model_registry: ModelRegistryResource
) -> dg.MaterializeResult:
    """Each deployed model's predictions against the statuses that arrived since: precision,
    recall and F1 on failures, failures caught and missed, false alarms, and the predictions
    still waiting, cumulative since it was deployed and for the newest labelled scoring
    batch. Runs by itself when statuses or predictions arrive; its check charts the deployed
    model's figures."""
    registry = model_registry.open()
    champion = registry.champion()
    log = store.predictions().read_frame()
    # Only the statuses that can label a prediction: a store holds millions.
    statuses = store.open(STATUSES).read_range(
        (UDI, TARGET),
        first_udi=int(log[UDI].min()) if len(log) else 0,
        last_udi=int(log[UDI].max()) if len(log) else -1,
    )
    everyone = realized_performance(log, statuses, _first_deployments(registry))
    current = next((p for p in everyone if champion and p.model == champion.name), None)
    test_f1 = champion.metrics["f1"] if champion else NAN
    return dg.MaterializeResult(
        metadata={
            "deployed_model": champion.name if champion else "",
            "test_f1": test_f1,
            **_champion_metadata(current),
            "models": dg.MetadataValue.table(
                [_performance_row(p) for p in everyone], schema=PERFORMANCE_SCHEMA
            ),
        },
        check_results=[_realized_f1_result(current, test_f1, get_settings())],
    )


# Drift: a check on cleaned_readings, so it runs in every readings ingestion run, on what that
# run stored, and shows on the asset the drift is about. --------------------------------------


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
                    "training_mean": _cell(r.reference_mean),
                    "newest_mean": _cell(r.newest_mean),
                    "autocorrelation_time": round(r.autocorrelation_time, 1),
                    "drifted": r.drifted,
                }
            )
            for r in results
        ],
        schema=DRIFT_SCHEMA,
    )


def _thresholds(settings: Settings) -> drift.DriftThresholds:
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
    store: StoreResource, model_registry: ModelRegistryResource
) -> dg.AssetCheckResult:
    """The newest MLOPS_DRIFT_WINDOW readings against the deployed model's training readings,
    feature by feature: a feature drifts when its test's p-value is below MLOPS_DRIFT_P_VALUE
    and its population stability index at least MLOPS_DRIFT_PSI. No model deployed, or fewer
    than MLOPS_DRIFT_MIN_READINGS readings on either side, gives no verdict."""
    champion = model_registry.open().champion()
    if champion is None:
        return _no_verdict("no model is deployed, so there is no training data to compare with")
    thresholds = _thresholds(get_settings())
    readings, trained_through = store.open(READINGS), champion.trained_through_udi
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
