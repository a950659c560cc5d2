"""Training: join readings with statuses, split in time order, train and score a model."""

from dataclasses import fields
from typing import get_type_hints

import dagster as dg
import pandas as pd
from pydantic import create_model

from mlops_demo.core import modelling
from mlops_demo.core.model_card import confusion_markdown
from mlops_demo.core.records import READING_FIELDS, STATUS_FIELDS
from mlops_demo.core.streams import READINGS, STATUSES
from mlops_demo.defs.resources import StoreResource

GROUP = "model_training"


@dg.asset(
    group_name=GROUP,
    kinds={"pandas"},
    deps=["historic_readings", "historic_daily_statuses"],
)
def joined_cleaned_readings_and_statuses(store: StoreResource) -> dg.Output[pd.DataFrame]:
    """Readings joined with their daily status on UDI; readings without a status yet wait."""
    readings = store.open(READINGS).read_frame(READING_FIELDS)
    statuses = store.open(STATUSES).read_frame(STATUS_FIELDS)
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
            group_name=GROUP, kinds={"pandas"}, description="The oldest part, for training."
        ),
        "test_data": dg.AssetOut(
            group_name=GROUP, kinds={"pandas"}, description="The newest part, for scoring."
        ),
    }
)
def training_and_test_data(config: SplitConfig, joined_cleaned_readings_and_statuses: pd.DataFrame):
    """A time-ordered split by UDI."""
    train, test = modelling.split_by_udi(
        joined_cleaned_readings_and_statuses, config.train_fraction
    )
    yield dg.Output(train, output_name="training_data", metadata=_counts(train))
    yield dg.Output(test, output_name="test_data", metadata=_counts(test))


# The hyperparameters are declared once, in modelling.Hyperparameters; the Launchpad's fields
# (ops: trained_model: config: n_estimators ...) are made from it.
TrainingConfig = create_model(
    "TrainingConfig",
    __base__=dg.Config,
    __doc__=modelling.Hyperparameters.__doc__,
    **{
        field.name: (get_type_hints(modelling.Hyperparameters)[field.name], field.default)
        for field in fields(modelling.Hyperparameters)
    },
)


@dg.asset(group_name=GROUP, kinds={"scikitlearn"})
def trained_model(
    config: TrainingConfig, training_data: pd.DataFrame, test_data: pd.DataFrame
) -> dg.Output[modelling.TrainingResult]:
    """A scikit-learn pipeline from raw readings to a failure verdict, with its test scores."""
    params = modelling.Hyperparameters(**config.model_dump())
    try:
        result = modelling.train(training_data, test_data, params)
    except modelling.InsufficientData as exc:
        raise dg.Failure(description=str(exc)) from None
    summary = result.summary
    return dg.Output(
        result,
        metadata={
            **{name: float(value) for name, value in summary.metrics.items()},
            "confusion_matrix": dg.MetadataValue.md(confusion_markdown(summary.confusion_matrix)),
            "train_rows": summary.training_rows,
            "test_rows": summary.test_rows,
            "training_seconds": summary.training_seconds,
            "hyperparameters": dg.MetadataValue.json(summary.hyperparameters),
        },
    )
