"""Training assets: join readings with statuses, split in time order, train and score a model."""

import dagster as dg
import pandas as pd

from mlops_demo import modelling
from mlops_demo import records as r
from mlops_demo.ingestion import historic_daily_statuses, historic_readings
from mlops_demo.resources import DataDirResource
from mlops_demo.streams import READINGS, STATUSES

GROUP = "model_training"


@dg.asset(group_name=GROUP, deps=[historic_readings, historic_daily_statuses])
def joined_cleaned_readings_and_statuses(data: DataDirResource) -> dg.Output[pd.DataFrame]:
    """Readings joined with their daily status on UDI; readings without a status yet wait."""
    # Read through the resource, which knows the configured store (and its credentials).
    readings = data.store(READINGS).read_frame(r.READING_FIELDS)
    statuses = data.store(STATUSES).read_frame(r.STATUS_FIELDS)
    joined = modelling.join_on_udi(readings, statuses)
    return dg.Output(
        joined,
        metadata={
            "num_matches": len(joined),
            "num_readings": len(readings),
            "num_statuses": len(statuses),
            "num_failures": int(joined[modelling.LABEL_COLUMN].sum()),
        },
    )


class SplitConfig(dg.Config):
    """How much of the joined data, oldest first, trains the model; the rest tests it."""

    train_fraction: float = 0.7


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    failures = int(frame[modelling.LABEL_COLUMN].sum())
    return {
        "num_rows": len(frame),
        "num_failures": failures,
        "num_non_failures": len(frame) - failures,
    }


@dg.multi_asset(
    outs={
        "training_data": dg.AssetOut(
            group_name=GROUP, description="The oldest part, for training."
        ),
        "test_data": dg.AssetOut(group_name=GROUP, description="The newest part, for scoring."),
    }
)
def training_and_test_data(config: SplitConfig, joined_cleaned_readings_and_statuses: pd.DataFrame):
    """A time-ordered split by UDI."""
    train, test = modelling.split_by_udi(
        joined_cleaned_readings_and_statuses, config.train_fraction
    )
    yield dg.Output(train, output_name="training_data", metadata=_counts(train))
    yield dg.Output(test, output_name="test_data", metadata=_counts(test))


class TrainingConfig(dg.Config):
    """The random forest's hyperparameters; the decision threshold is tuned during training."""

    n_estimators: int = 100
    min_samples_leaf: int = 1
    random_state: int = 0


@dg.asset(group_name=GROUP)
def trained_model(
    config: TrainingConfig, training_data: pd.DataFrame, test_data: pd.DataFrame
) -> dg.Output[modelling.TrainingResult]:
    """A scikit-learn pipeline from raw readings to a failure verdict, with its test scores."""
    params = modelling.Hyperparameters(
        n_estimators=config.n_estimators,
        min_samples_leaf=config.min_samples_leaf,
        random_state=config.random_state,
    )
    try:
        result = modelling.train(training_data, test_data, params)
    except modelling.InsufficientData as exc:
        raise dg.Failure(description=str(exc)) from None
    (tn, fp), (fn, tp) = result.confusion
    return dg.Output(
        result,
        metadata={
            **{name: float(value) for name, value in result.metrics.items()},
            "confusion_matrix": dg.MetadataValue.md(
                "| | predicted healthy | predicted failure |\n| --- | --- | --- |\n"
                f"| healthy | {tn} | {fp} |\n| failed | {fn} | {tp} |"
            ),
            "train_rows": result.train_rows,
            "test_rows": result.test_rows,
            "training_seconds": round(result.training_seconds, 3),
            "hyperparameters": dg.MetadataValue.json(result.hyperparameters),
        },
    )
