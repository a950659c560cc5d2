"""Training: join readings with statuses, split in time order, train and score a model.

Training's modules (and pandas with them) are imported by the assets that train: every run
imports this module, and checks.py says why that matters. Dagster resolves an asset's
annotations when the code location loads, so the frames handed between these assets are not
annotated as DataFrames."""

from dataclasses import fields, replace
from typing import TYPE_CHECKING, get_type_hints

import dagster as dg
from pydantic import Field, create_model

from mlops_demo.core.messages.records import READING_FIELDS, STATUS_FIELDS, UDI
from mlops_demo.core.messages.streams import READINGS, STATUSES
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.registry.card import (
    calibration_markdown,
    confusion_markdown,
    failure_types_markdown,
    folds_markdown,
)
from mlops_demo.core.registry.entries import ModelEntry, RegistryError
from mlops_demo.core.registry.model_registry import ModelRegistry
from mlops_demo.defs.inference.settings import InferenceSettings
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.metadata import picture_metadata
from mlops_demo.defs.resources import StorageResource
from mlops_demo.defs.training.sensors import LEARN_SINCE_TAG
from mlops_demo.defs.training.settings import GateSettings, TrainingSettings

if TYPE_CHECKING:
    import pandas as pd

GROUP = "model_training"


@dg.asset(
    group_name=GROUP,
    kinds={"pandas"},
    deps=["historic_readings", "historic_daily_statuses"],
)
def joined_cleaned_readings_and_statuses(
    context: dg.AssetExecutionContext, storage: StorageResource, training_settings: TrainingSettings
) -> dg.Output:
    """The newest MLOPS_TRAINING_WINDOW readings joined with their daily status on UDI; readings
    without a status yet wait, and readings a sensor fault touched are left out (the drift
    check's fault log). Only the window is read, however long the history. A run tagged
    mlops_demo/learn_since_udi (a retrain for a decay: the plant changed) learns only from that
    reading on, and no run learns from before the deployed model's own first reading."""
    from mlops_demo.core.model import features, training
    from mlops_demo.core.monitoring.faults import touched

    window = training_settings.training_window or None
    since = _learn_since(context, storage)
    statuses = storage.store(STATUSES).read_range(STATUS_FIELDS, first_udi=since, newest=window)
    first, last = (int(statuses[UDI].min()), int(statuses[UDI].max())) if len(statuses) else (0, -1)
    readings = storage.store(READINGS).read_range(READING_FIELDS, first_udi=first, last_udi=last)
    joined = training.join_on_udi(readings, statuses)
    # Readings a sensor fault touched stay stored; a model must not learn them.
    faulty = touched(storage.sensor_faults().read(), joined[UDI].to_numpy())
    joined = joined[~faulty].reset_index(drop=True)
    return dg.Output(
        joined,
        metadata={
            "num_matches": len(joined),
            "num_readings": len(readings),
            "num_statuses": len(statuses),
            "training_window": window or "every labelled reading",
            "learning_since_udi": since or 0,
            "num_failures": int(joined[features.LABEL_COLUMN].sum()),
            "num_left_out_sensor_faults": int(faulty.sum()),
        },
    )


def _learn_since(context: dg.AssetExecutionContext, storage: StorageResource) -> int | None:
    """The oldest UDI to learn from: the run's tag (a retrain for a decay), and never before the
    champion's own start, so that every retrain after a change of the plant learns from the
    change on, until the window passes it."""
    raw = context.run.tags.get(LEARN_SINCE_TAG)
    if raw is not None and not raw.isdigit():
        raise dg.Failure(f"the run tag {LEARN_SINCE_TAG} must be a UDI, got {raw!r}")
    champion = storage.registry().champion()
    bounds = [int(raw)] if raw is not None else []
    bounds += [champion.trained_from_udi] if champion else []
    return max(bounds, default=None)


class SplitConfig(dg.Config):
    """How much of the joined data, oldest first, trains the model; the rest tests it."""

    train_fraction: float = 0.7


def _counts(frame: "pd.DataFrame") -> dict[str, int]:
    from mlops_demo.core.model import features

    failures = int(frame[features.LABEL_COLUMN].sum())
    return {
        "num_rows": len(frame),
        "num_failures": failures,
        "num_non_failures": len(frame) - failures,
    }


@dg.multi_asset(
    outs={
        "training_data": dg.AssetOut(
            group_name=GROUP, kinds={"pandas"}, description="The oldest part, for training."
        ),
        "test_data": dg.AssetOut(
            group_name=GROUP, kinds={"pandas"}, description="The newest part, for scoring."
        ),
    }
)
def training_and_test_data(config: SplitConfig, joined_cleaned_readings_and_statuses):
    """A time-ordered split by UDI."""
    from mlops_demo.core.model import training

    train, test = training.split_by_udi(joined_cleaned_readings_and_statuses, config.train_fraction)
    yield dg.Output(train, output_name="training_data", metadata=_counts(train))
    yield dg.Output(test, output_name="test_data", metadata=_counts(test))


# The hyperparameters are declared once, in model_spec.Hyperparameters; the Launchpad's fields
# (ops: trained_model: config: n_estimators ...) are made from it, beside the evaluation's folds.
TrainingConfig = create_model(
    "TrainingConfig",
    __base__=dg.Config,
    __doc__=Hyperparameters.__doc__,
    forward_chained_folds=(
        int,
        Field(
            default=7,
            ge=0,
            description="blocks of the newest 70 % of the joined readings, each tested by a "
            "model trained on every reading before it; 0 leaves the evaluation out",
        ),
    ),
    **{
        field.name: (get_type_hints(Hyperparameters)[field.name], field.default)
        for field in fields(Hyperparameters)
    },
)


def _champion(registry: ModelRegistry) -> tuple[object, ModelEntry] | None:
    champion = registry.champion()
    return registry.load(champion.name) if champion else None


@dg.asset(group_name=GROUP, kinds={"scikitlearn"})
def trained_model(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    training_data,
    test_data,
    storage: StorageResource,
    gate_settings: GateSettings,
    inference_settings: InferenceSettings,
    ingestion_settings: IngestionSettings,
) -> dg.Output[ModelEntry]:
    """A scikit-learn pipeline from raw readings to a failure verdict, registered in
    trained-models/ with its test scores and how it did against the champion on the newest
    labelled readings that neither trained on (the gate production_model_candidates applies)."""
    import pandas as pd

    from mlops_demo.core.model import evaluation, pipeline, training
    from mlops_demo.core.pictures.training import training_picture
    from mlops_demo.core.registry.gate import gate, held_out_window

    values = config.model_dump()
    folds = values.pop("forward_chained_folds")
    params = Hyperparameters(**values)
    try:
        result = training.train(training_data, test_data, params)
    except training.InsufficientData as exc:
        raise dg.Failure(description=str(exc)) from None
    joined = pd.concat([training_data, test_data], ignore_index=True)
    report = evaluation.forward_chained(
        joined,
        lambda: pipeline.build_pipeline(params),
        folds,
        inference_settings.crew_capacity,
        ingestion_settings.min_batch,
        progress=context.log.info,
        trained=(len(training_data), result.model),
    )
    summary = replace(result.summary, evaluation=report)
    registry = storage.registry()
    try:
        champion = _champion(registry)
    except RegistryError as exc:
        raise dg.Failure(description=f"the deployed model cannot be compared with: {exc}") from None
    window = held_out_window(test_data, champion[1] if champion else None)
    margin, min_failures = gate_settings.champion_margin, gate_settings.gate_min_failures
    decision = gate(result.model, window, champion, margin, min_failures)
    picture = training_picture(report)
    pictures = {"evaluation": (picture.image, picture.caption)} if picture else {}
    entry = registry.register(result.model, summary, decision, pictures)
    return dg.Output(
        entry,
        metadata={**_training_metadata(entry), **picture_metadata("evaluation_picture", picture)},
    )


def _training_metadata(entry: ModelEntry) -> dict:
    return {
        "model_name": entry.name,
        **{name: float(value) for name, value in entry.metrics.items()},
        "confusion_matrix": dg.MetadataValue.md(confusion_markdown(entry.confusion_matrix)),
        "train_rows": entry.training_rows,
        "test_rows": entry.test_rows,
        "training_seconds": entry.training_seconds,
        "hyperparameters": dg.MetadataValue.json(entry.hyperparameters),
        "window": f"UDI {entry.gate.window_first_udi}-{entry.gate.window_last_udi} "
        f"({entry.gate.window_rows} rows)",
        "window_f1": entry.gate.f1 if entry.gate.f1 is not None else float("nan"),
        "champion": entry.gate.champion or "none",
        "champion_window_f1": (
            entry.gate.champion_f1 if entry.gate.champion_f1 is not None else float("nan")
        ),
        "gate_passed": entry.gate.passed,
        "gate_outcome": entry.gate.outcome,
        "gate": entry.gate.reason,
        **_evaluation_metadata(entry),
    }


def _evaluation_metadata(entry: ModelEntry) -> dict:
    report = entry.evaluation
    if not report.get("folds"):
        return {"forward_chained": folds_markdown(report)}
    pooled, calibration = report["pooled"], report["calibration"]
    return {
        "forward_chained_f1": pooled["f1"],
        "forward_chained_f1_interval": f"{pooled['f1_low']:.3f}-{pooled['f1_high']:.3f}",
        "forward_chained_precision": pooled["precision"],
        "forward_chained_recall": pooled["recall"],
        "forward_chained_pr_auc": pooled["pr_auc"],
        "rules_f1": report["rules"]["f1"],
        "brier_score": calibration["brier"],
        "expected_calibration_error": calibration["ece"],
        "forward_chained": dg.MetadataValue.md(folds_markdown(report)),
        "failures_by_type": dg.MetadataValue.md(failure_types_markdown(report)),
        "calibration": dg.MetadataValue.md(calibration_markdown(report)),
        "calibrated_on": entry.calibrated_on,
    }
