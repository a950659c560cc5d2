"""Realized performance: each deployed model's predictions set against the statuses that arrived
since, without training anything.

A prediction is labelled once its machine's status is stored; until then it waits. A status
for a reading no model scored (it arrived before the scoring, or names an unknown UDI) labels
nothing. A scoring batch is one `devices_at_risk` run: its predictions share `predicted_at`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import FAILURE_TYPE, NO_FAILURE, TARGET, UDI
from mlops_demo.core.model.evaluation import f1_of_counts, mode_agreement, recall_by_failure_type
from mlops_demo.core.monitoring.estimate import Estimate, estimate
from mlops_demo.core.storage.predictions import MODEL


@dataclass(frozen=True)
class Confusion:
    """The failure class's confusion counts: failures caught and missed, false alarms."""

    caught: int = 0
    missed: int = 0
    false_alarms: int = 0
    quiet: int = 0  # predicted no failure, and none came

    @property
    def labelled(self) -> int:
        return self.caught + self.missed + self.false_alarms + self.quiet

    @property
    def precision(self) -> float | None:
        flagged = self.caught + self.false_alarms
        return self.caught / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        failures = self.caught + self.missed
        return self.caught / failures if failures else None

    @property
    def f1(self) -> float | None:
        # With no failure and no alarm F1 is undefined, not perfect: there was nothing to catch.
        if not self.caught + self.missed + self.false_alarms:
            return None
        return f1_of_counts(self.caught, self.false_alarms, self.missed)


def confusion(predicted: pd.Series, actual: pd.Series) -> Confusion:
    """Counts over aligned boolean series: `predicted` at risk, `actual` failed."""
    predicted, actual = predicted.astype(bool), actual.astype(bool)
    return Confusion(
        caught=int((predicted & actual).sum()),
        missed=int((~predicted & actual).sum()),
        false_alarms=int((predicted & ~actual).sum()),
        quiet=int((~predicted & ~actual).sum()),
    )


@dataclass(frozen=True)
class ModelPerformance:
    model: str
    since: str | None  # when it was first deployed, if the registry knows
    predictions: int
    waiting: int  # predictions whose status has not arrived yet
    cumulative: Confusion
    last_batch: Confusion
    last_batch_predicted_at: str | None
    # Per failure type among the labelled failures: how many, how many were flagged.
    by_failure_type: dict[str, dict[str, int]]
    # Of the caught failures the readings can explain, how often the named mode was the type's.
    named_mode: dict[str, int]
    # What the calibrated probabilities promised for the newest batch before its statuses came.
    last_batch_estimate: Estimate


def label(predictions: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """The predictions with a `failed` column, True or False once the status arrived, else NA,
    and the status's `failure_type`. A status stored twice counts once."""
    truth = statuses.drop_duplicates(UDI).set_index(UDI)
    failed = predictions[UDI].map(truth[TARGET])
    kind = predictions[UDI].map(truth[FAILURE_TYPE]) if FAILURE_TYPE in truth else None
    return predictions.assign(failed=failed.astype("boolean"), failure_type=kind)


def _model_performance(model: str, rows: pd.DataFrame, since: str | None) -> ModelPerformance:
    known = rows[rows["failed"].notna()]
    newest = known["predicted_at"].max() if len(known) else None
    batch = known[known["predicted_at"] == newest]
    return ModelPerformance(
        model=model,
        since=since,
        predictions=len(rows),
        waiting=len(rows) - len(known),
        cumulative=confusion(known["at_risk"], known["failed"]),
        last_batch=confusion(batch["at_risk"], batch["failed"]),
        last_batch_predicted_at=newest,
        last_batch_estimate=estimate(
            batch["failure_probability"].to_numpy(), batch["at_risk"].to_numpy(dtype=bool)
        ),
        **_by_failure_type(known),
    )


def _by_failure_type(known: pd.DataFrame) -> dict:
    failed = known["failed"].to_numpy(dtype=bool)
    flagged = known["at_risk"].to_numpy(dtype=bool)
    types = known["failure_type"].fillna(NO_FAILURE).astype(str).reset_index(drop=True)
    caught = failed & flagged
    # Predictions logged before modes were named have none.
    named = known.get("failure_mode", pd.Series("", index=known.index))
    named = named.fillna("").reset_index(drop=True)
    return {
        "by_failure_type": recall_by_failure_type(types, failed, flagged),
        "named_mode": mode_agreement(named[caught], types[caught]),
    }


def realized_performance(
    predictions: pd.DataFrame, statuses: pd.DataFrame, deployed_at: dict[str, str]
) -> list[ModelPerformance]:
    """Each model's realized performance, newest prediction first. Cumulative figures cover
    every prediction the model made: it predicts only while deployed, and the log keeps each
    reading's first prediction by a model, so a model deployed again after a rollback goes on
    from its earlier record. `deployed_at` gives each model's first deployment, for display."""
    labelled = label(predictions, statuses)
    order = labelled.groupby(MODEL)["predicted_at"].max().sort_values(ascending=False)
    return [
        _model_performance(model, labelled[labelled[MODEL] == model], deployed_at.get(model))
        for model in order.index
    ]


@dataclass(frozen=True)
class PairedVerdicts:
    """Two models' verdicts on the same labelled readings, in UDI order."""

    udis: np.ndarray
    failed: np.ndarray
    first: np.ndarray
    second: np.ndarray


def batch_history(
    predictions: pd.DataFrame, statuses: pd.DataFrame, model: str
) -> list[tuple[str, Confusion]]:
    """The model's labelled scoring batches, oldest first, each with its confusion counts."""
    labelled = label(predictions[predictions[MODEL] == model], statuses)
    known = labelled[labelled["failed"].notna()]
    return [
        (str(predicted_at), confusion(batch["at_risk"], batch["failed"]))
        for predicted_at, batch in known.groupby("predicted_at", sort=True)
    ]


def expected_band(
    expected_hits: int, expected_misses: int, trials: int, level: float = 0.90
) -> tuple[float, float]:
    """The rate a batch of `trials` shows 90 % of the time when the rate is known as hits and
    misses so far (beta-binomial, as the decay check weighs it)."""
    from scipy import stats

    if not trials:
        return (float("nan"), float("nan"))
    tail = (1 - level) / 2
    low, high = stats.betabinom.ppf(
        [tail, 1 - tail], trials, expected_hits + 1, expected_misses + 1
    )
    return float(low / trials), float(high / trials)


def paired_verdicts(
    predictions: pd.DataFrame, statuses: pd.DataFrame, first: str, second: str
) -> PairedVerdicts:
    """The readings both models scored and whose status has arrived, with both verdicts: the
    live evidence for comparing the deployed model with its shadow."""
    labelled = label(predictions, statuses)
    known = labelled[labelled["failed"].notna()]
    verdicts = [
        known[known[MODEL] == m].set_index(UDI)["at_risk"].astype(bool) for m in (first, second)
    ]
    both = verdicts[0].index.intersection(verdicts[1].index).sort_values()
    failed = known.drop_duplicates(UDI).set_index(UDI)["failed"].astype(bool)
    return PairedVerdicts(
        udis=both.to_numpy(),
        failed=failed.loc[both].to_numpy(dtype=bool),
        first=verdicts[0].loc[both].to_numpy(dtype=bool),
        second=verdicts[1].loc[both].to_numpy(dtype=bool),
    )


@dataclass(frozen=True)
class Expected:
    """What the model is expected to do, as counts: from its forward-chained evaluation (or, for
    a model without one, its test split), so the expectation carries its own uncertainty."""

    caught: int
    missed: int
    false_alarms: int
    source: str

    @property
    def recall(self) -> float:
        return self.caught / max(self.caught + self.missed, 1)

    @property
    def precision(self) -> float:
        return self.caught / max(self.caught + self.false_alarms, 1)


def expected_of(evaluation: dict, confusion_matrix: list[list[int]]) -> Expected:
    pooled = evaluation.get("pooled")
    if pooled and pooled["failures"]:
        caught = round(pooled["recall"] * pooled["failures"])
        flagged = round(caught / pooled["precision"]) if pooled["precision"] else caught
        return Expected(caught, pooled["failures"] - caught, flagged - caught, "forward-chained")
    (_, false_alarms), (missed, caught) = confusion_matrix
    return Expected(caught, missed, false_alarms, "test split")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    description: str
    p_value: float | None = None  # the chance of a batch this poor from the expected model


def _as_poor(seen: int, trials: int, hits: int, misses: int) -> float:
    """The chance of `seen` or fewer of `trials` from a rate known as hits and misses so far:
    beta-binomial, so a rate measured on few failures weighs as little as it deserves."""
    from scipy import stats

    if not trials:
        return 1.0
    return float(stats.betabinom.cdf(seen, trials, hits + 1, misses + 1))


def decay_verdict(
    performance: ModelPerformance | None, expected: Expected, min_labelled: int, p_value: float
) -> Verdict:
    """Whether the newest labelled scoring batch is as good as the model is expected to be."""
    if performance is None:
        return Verdict(True, "no verdict: the deployed model has made no prediction yet")
    return batch_verdict(
        performance.last_batch, expected, min_labelled, p_value, performance.waiting
    )


def batch_verdict(
    batch: Confusion, expected: Expected, min_labelled: int, p_value: float, waiting: int = 0
) -> Verdict:
    """Whether one labelled scoring batch is as good as the model is expected to be: its recall
    and its precision, each against the expected rate with that rate's uncertainty (Bonferroni
    over the two). A batch with fewer than `min_labelled` labels gives no verdict."""
    if batch.labelled < min_labelled:
        return Verdict(
            True,
            f"no verdict yet: the newest labelled batch holds {batch.labelled} of the "
            f"{min_labelled} labelled predictions needed ({waiting} still wait)",
        )
    p_recall = _as_poor(batch.caught, batch.caught + batch.missed, expected.caught, expected.missed)
    p_precision = _as_poor(
        batch.caught, batch.caught + batch.false_alarms, expected.caught, expected.false_alarms
    )
    combined = min(1.0, 2 * min(p_recall, p_precision))
    summary = (
        f"newest batch of {batch.labelled} labelled predictions: caught {batch.caught} of "
        f"{batch.caught + batch.missed} failures (expected recall {expected.recall:.2f}), "
        f"{batch.false_alarms} false alarms (expected precision {expected.precision:.2f}, "
        f"{expected.source}); chance of a batch this poor {combined:.2g} (warns below "
        f"{p_value:g})"
    )
    return Verdict(combined >= p_value, summary, combined)
