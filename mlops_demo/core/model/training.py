"""Training: the join of readings with their statuses, the time-ordered split, and a fit that
returns the pipeline with its summary."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

from mlops_demo.core.model.evaluation import evaluate
from mlops_demo.core.model.features import (
    FEATURE_COLUMNS,
    ID_COLUMN,
    LABEL_COLUMN,
    input_signature,
)
from mlops_demo.core.model.pipeline import build_pipeline
from mlops_demo.core.model.spec import Hyperparameters, TrainingSummary

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MIN_JOINED_ROWS = 50


class InsufficientData(ValueError):
    """Too little labelled data to train on; the text says how much there is and what is needed."""


def split_by_udi(joined: pd.DataFrame, train_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A time-ordered split: the first `train_fraction` of UDIs train, the rest test."""
    if not 0 < train_fraction < 1:
        raise ValueError(f"the training fraction must be between 0 and 1, got {train_fraction}")
    ordered = joined.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    cut = round(len(ordered) * train_fraction)
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def check_enough_data(joined_rows: int, train: pd.DataFrame) -> None:
    failures = int(train[LABEL_COLUMN].sum()) if len(train) else 0
    if joined_rows < MIN_JOINED_ROWS:
        raise InsufficientData(
            f"Only {joined_rows} readings have a status yet ({failures} failures in the training "
            f"part); training needs at least {MIN_JOINED_ROWS}: publish and ingest more statuses."
        )
    if failures == 0 or failures == len(train):
        kind = "no failures" if failures == 0 else "only failures"
        raise InsufficientData(
            f"The training part's {len(train)} rows hold {kind} ({failures} failures); training "
            "needs both failed and healthy machines: ingest more readings and statuses."
        )


@dataclass(frozen=True)
class TrainingResult:
    model: Pipeline
    summary: TrainingSummary


def train(
    train_part: pd.DataFrame, test_part: pd.DataFrame, params: Hyperparameters | None = None
) -> TrainingResult:
    params = params or Hyperparameters()
    check_enough_data(len(train_part) + len(test_part), train_part)
    model = build_pipeline(params)  # imports scikit-learn: not part of the fit's time
    started = time.perf_counter()
    model.fit(train_part[list(FEATURE_COLUMNS)], train_part[LABEL_COLUMN].astype(int))
    seconds = time.perf_counter() - started
    metrics, confusion = evaluate(model, test_part)
    threshold = round(model.named_steps["classifier"].threshold_, 4)
    summary = TrainingSummary(
        metrics=metrics,
        confusion_matrix=confusion,
        hyperparameters={**asdict(params), "decision_threshold": threshold},
        training_rows=len(train_part),
        test_rows=len(test_part),
        training_seconds=round(seconds, 3),
        features=list(FEATURE_COLUMNS),
        trained_through_udi=int(train_part[ID_COLUMN].max()),
        trained_from_udi=int(train_part[ID_COLUMN].min()),
        signature=input_signature(train_part),
        evaluation={},
        calibrated_on=model.named_steps["classifier"].calibrated_on_,
    )
    return TrainingResult(model=model, summary=summary)


def join_on_udi(readings: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Readings that have a status, with it, in UDI order; readings still waiting are left out."""
    joined = readings.merge(statuses, on=ID_COLUMN, how="inner", validate="one_to_one")
    return joined.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
