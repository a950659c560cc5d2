"""Features, training, evaluation and scoring: plain scikit-learn, no Dagster.

The pipeline takes the raw reading columns, so a pickled model scores a reading as it arrives;
the physics features are derived inside it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlops_demo.core import physics
from mlops_demo.core.model_spec import Hyperparameters, TrainingSummary
from mlops_demo.core.records import (
    PRODUCT_ID,
    PRODUCT_TYPES,
    READING_FIELDS,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
    TYPE,
    UDI,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn is imported inside the functions that train or evaluate: it takes about a second,
# and only training needs it. Scoring a loaded model calls the model's own methods.

ID_COLUMN = UDI
LABEL_COLUMN = TARGET
# Everything a reading measures; its UDI and Product ID name the machine and predict nothing.
FEATURE_COLUMNS = tuple(field for field in READING_FIELDS if field not in (UDI, PRODUCT_ID))
MIN_JOINED_ROWS = 50
_TYPE_CODES = {kind: code for code, kind in enumerate(PRODUCT_TYPES)}


class InsufficientData(ValueError):
    """Too little labelled data to train on; the text says how much there is and what is needed."""


def physics_features(readings: pd.DataFrame) -> pd.DataFrame:
    """The quantities the failure modes are defined on, and nothing that wanders. The air and
    process temperatures follow the weather (a slow random walk), so their level is left out;
    only their difference acts on the machine. (Models registered before `model_inputs` took
    these as their whole input, by this name.)"""
    q = physics.quantities(readings)
    features = readings[[ROTATIONAL_SPEED, TORQUE, TOOL_WEAR]].astype(float)
    features["temperature_difference_k"] = q["temperature_difference_k"]
    features["mechanical_power_w"] = q["mechanical_power_w"]
    features["tool_wear_torque_min_nm"] = q["tool_wear_torque_min_nm"]
    features["overstrain_margin_min_nm"] = (
        q["overstrain_limit_min_nm"] - q["tool_wear_torque_min_nm"]
    )
    features["product_type_code"] = readings[TYPE].map(_TYPE_CODES).astype(float)
    return features


def model_inputs(readings: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs: the physical quantities, and the margin to each documented limit
    with whether it is breached, so that a model trained on a few hundred readings knows the
    limits beyond what those readings happened to show."""
    return pd.concat([physics_features(readings), physics.limit_features(readings)], axis=1)


def build_pipeline(params: Hyperparameters) -> Pipeline:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from mlops_demo.core.forest import CalibratedForest

    forest_params = {k: v for k, v in asdict(params).items() if k != "max_rows_per_tree"}
    forest = RandomForestClassifier(**forest_params, n_jobs=-1)
    return Pipeline(
        [
            ("model_inputs", FunctionTransformer(model_inputs)),
            ("classifier", CalibratedForest(forest, max_rows_per_tree=params.max_rows_per_tree)),
        ]
    )


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
        signature=input_signature(train_part),
        evaluation={},
        calibrated_on=model.named_steps["classifier"].calibrated_on_,
    )
    return TrainingResult(model=model, summary=summary)


def input_signature(frame: pd.DataFrame) -> dict[str, dict]:
    """What the model was trained on, input by input: the product types seen, and each numeric
    input's range (the derived ones included, the temperatures' level not: the model does not
    use it)."""
    features = physics_features(frame).drop(columns=["product_type_code"])
    signature = {TYPE: {"kind": "category", "values": sorted(frame[TYPE].unique().tolist())}}
    for column in features.columns:
        values = features[column]
        signature[column] = {
            "kind": "number",
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return signature


class SignatureMismatch(ValueError):
    """The readings cannot be scored by this model at all; the text says why."""


def outside_signature(readings: pd.DataFrame, signature: dict[str, dict]) -> pd.Series:
    """Per reading, why the model should not score it ("" when it may): a category it never saw,
    or a number further outside its trained range than that range is wide (readings drift
    slowly, so a little past the edge is still the model's ground; far past it, the model only
    extrapolates). Raises SignatureMismatch when a column is missing or not of its kind, since
    then no reading can be scored."""
    missing = [column for column in FEATURE_COLUMNS if column not in readings.columns]
    if missing:
        raise SignatureMismatch(f"the readings lack the model's columns: {', '.join(missing)}")
    reasons = pd.Series("", index=readings.index)
    if readings.empty:  # no values, so no kind to check (an empty column reads as object)
        return reasons
    for column in FEATURE_COLUMNS:
        if column != TYPE and not pd.api.types.is_numeric_dtype(readings[column]):
            raise SignatureMismatch(f"{column} holds {readings[column].dtype} values, not numbers")
    # Raw columns and the model's derived inputs side by side: a model registered before the
    # temperatures' level was left out has signed the raw columns.
    derived = physics_features(readings)
    inputs = pd.concat([readings, derived.drop(columns=readings.columns, errors="ignore")], axis=1)
    for column, spec in signature.items():
        values = inputs[column]
        if spec["kind"] == "category":
            outside = ~values.isin(spec["values"])
            allowed = ", ".join(spec["values"])
            detail = f"{column} " + values.astype(str) + f" is not one of the trained ({allowed})"
        else:
            if not pd.api.types.is_numeric_dtype(values):
                raise SignatureMismatch(f"{column} holds {values.dtype} values, not numbers")
            span = spec["max"] - spec["min"]
            low, high = spec["min"] - span, spec["max"] + span
            outside = (values < low) | (values > high)
            trained = f"trained range {spec['min']:g}-{spec['max']:g} (accepted {low:g}-{high:g})"
            detail = f"{column} " + values.astype(str) + f" is far outside the {trained}"
        reasons = reasons.where(~outside | (reasons != ""), detail)
    return reasons


def evaluate(model, frame: pd.DataFrame) -> tuple[dict[str, float], list[list[int]]]:
    """Failure-class scores on a labelled frame, and the confusion matrix [[TN, FP], [FN, TP]]."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    if frame.empty:
        return {}, [[0, 0], [0, 0]]
    truth = frame[LABEL_COLUMN].astype(int)
    probability = failure_probability(model, frame)
    predicted = model.predict(frame[list(FEATURE_COLUMNS)])
    metrics = {
        "accuracy": accuracy_score(truth, predicted),
        "precision": precision_score(truth, predicted, zero_division=0),
        "recall": recall_score(truth, predicted, zero_division=0),
        "f1": f1_score(truth, predicted, zero_division=0),
    }
    if truth.nunique() == 2:
        metrics["roc_auc"] = roc_auc_score(truth, probability)
    confusion = confusion_matrix(truth, predicted, labels=[0, 1]).tolist()
    return {k: round(float(v), 4) for k, v in metrics.items()}, confusion


def failure_probability(model, readings: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(readings[list(FEATURE_COLUMNS)])[:, 1]


def join_on_udi(readings: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """Readings that have a status, with it, in UDI order; readings still waiting are left out."""
    joined = readings.merge(statuses, on=ID_COLUMN, how="inner", validate="one_to_one")
    return joined.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)


def score(model, readings: pd.DataFrame, capacity: int | None = None) -> pd.DataFrame:
    """The readings with their failure probability, verdict and likely failure mode, its margin
    and the crew's action, riskiest first. With a `capacity`, only that many of the machines the
    model flags, the riskiest, stay at risk: a crew visits no more in a day."""
    columns = [ID_COLUMN, PRODUCT_ID]
    if readings.empty:
        return readings[columns].assign(
            failure_probability=pd.Series(dtype=float),
            at_risk=pd.Series(dtype=bool),
            **{column: pd.Series(dtype=object) for column in physics.EXPLANATION_COLUMNS},
        )
    scored = readings[columns].copy()
    scored["failure_probability"] = failure_probability(model, readings).round(4)
    scored["at_risk"] = model.predict(readings[list(FEATURE_COLUMNS)]).astype(bool)
    scored = pd.concat([scored, physics.explain(readings)], axis=1)
    scored = scored.sort_values(
        ["failure_probability", ID_COLUMN], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    if capacity is not None:
        scored["at_risk"] &= scored["at_risk"].cumsum() <= capacity
    return scored


def __getattr__(name: str):
    # Models pickled before the classifier moved to core/forest.py name it in this module.
    if name == "OutOfBagThreshold":
        from mlops_demo.core.forest import OutOfBagThreshold

        return OutOfBagThreshold
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
