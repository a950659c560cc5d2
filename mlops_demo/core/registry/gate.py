"""The gate a new model passes to become a candidate: on the newest labelled readings that
neither it nor the champion trained on, both models' verdicts on the same readings, compared
paired.

Paired, because the two models judge the same machines: most verdicts agree, and only the
readings where they differ carry evidence. The F1 difference's 95 % interval comes from a paired
bootstrap (resampling readings, each with both verdicts; F1 depends on a sample only through its
counts, so each resample draws the eight counts of (failed, new verdict, champion's verdict)
from their multinomial). McNemar's test would ask whether the models err on different readings,
not whether one has the better F1, the figure the loop promises. Three outcomes:

- **promote**: the interval's lower end is above the margin (a one-sided 97.5 % bound: with a
  one-sided 95 % bound, models equal on contiguous 1,000-row windows of the reference data were
  promoted in 11 % of them, `docs/monitoring.md`);
- **reject**: the new model's F1 does not beat the champion's by the margin (a tie never wins);
- **not enough evidence yet**: fewer than the minimum failures in the window, or better but with
  the interval still reaching below the margin; the model stays trained, and the verdict says
  how many more labelled failures would settle it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.model.evaluation import f1_of_counts
from mlops_demo.core.model.features import FEATURE_COLUMNS, ID_COLUMN, LABEL_COLUMN
from mlops_demo.core.registry.entries import (
    NOT_ENOUGH_EVIDENCE,
    PROMOTE,
    REJECT,
    GateResult,
    ModelEntry,
)

RESAMPLES = 2000
INTERVAL = (2.5, 97.5)


def held_out_window(test_data: pd.DataFrame, champion: ModelEntry | None) -> pd.DataFrame:
    """The newest labelled rows that neither the new model (trained before `test_data`) nor the
    champion trained on."""
    if champion is None:
        return test_data
    return test_data[test_data[ID_COLUMN] > champion.trained_through_udi]


def paired_f1_difference(
    failed: np.ndarray, new: np.ndarray, old: np.ndarray, seed: int = 0
) -> tuple[float, float, float]:
    """The new model's F1 minus the old one's on the same readings, and its 95 % interval."""
    cells = np.array(
        [np.sum((failed == f) & (new == n) & (old == o)) for f in (0, 1) for n in (0, 1)
         for o in (0, 1)]
    )  # fmt: skip
    counts = np.random.default_rng(seed).multinomial(
        len(failed), cells / max(len(failed), 1), size=RESAMPLES
    )

    def difference(c: np.ndarray) -> np.ndarray:
        # Cells in the order (failed, new, old) = 000, 001, 010, 011, 100, 101, 110, 111.
        new_f1 = f1_of_counts(c[..., 6] + c[..., 7], c[..., 2] + c[..., 3], c[..., 4] + c[..., 5])
        old_f1 = f1_of_counts(c[..., 5] + c[..., 7], c[..., 1] + c[..., 3], c[..., 4] + c[..., 6])
        return new_f1 - old_f1

    low, high = np.percentile(difference(counts), INTERVAL)
    return float(difference(cells)), float(low), float(high)


@dataclass(frozen=True)
class Decision:
    outcome: str
    difference: float
    low: float
    high: float
    more_failures_needed: int | None


def decide(
    failed: np.ndarray, new: np.ndarray, old: np.ndarray, margin: float, min_failures: int
) -> Decision:
    """Promote, reject, or not enough evidence yet: see the module's docstring."""
    failed, new, old = (np.asarray(a, dtype=int) for a in (failed, new, old))
    difference, low, high = paired_f1_difference(failed, new, old)
    failures = int(failed.sum())
    if failures < min_failures:
        return Decision(NOT_ENOUGH_EVIDENCE, difference, low, high, min_failures - failures)
    if difference <= margin or math.isclose(difference, margin):
        return Decision(REJECT, difference, low, high, None)
    if low > margin:
        return Decision(PROMOTE, difference, low, high, None)
    # The interval narrows as one over the root of the failures: how many would lift its lower
    # end above the margin, at the difference seen.
    half_width = max((high - low) / 2, 1e-9)
    settled = math.ceil(failures * (half_width / (difference - margin)) ** 2)
    return Decision(NOT_ENOUGH_EVIDENCE, difference, low, high, max(settled - failures, 1))


def _verdicts(model: object, window: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(window[list(FEATURE_COLUMNS)]), dtype=int)


def _f1_of(failed: np.ndarray, verdicts: np.ndarray) -> float:
    caught = int((failed & verdicts).sum())
    return round(float(f1_of_counts(caught, int((~failed & verdicts).sum()),
                           int((failed & ~verdicts).sum()))), 4)  # fmt: skip


def gate(
    model: object,
    window: pd.DataFrame,
    champion: tuple[object, ModelEntry] | None,
    margin: float,
    min_failures: int = 10,
) -> GateResult:
    """Score the new model (and the champion, if there is one) on the window and decide."""
    failed = window[LABEL_COLUMN].to_numpy(dtype=bool)
    span = _span(window[ID_COLUMN].to_numpy(), failed, margin)
    if window.empty:
        return GateResult(
            **span, f1=None, champion=champion[1].name if champion else None, champion_f1=None,
            passed=False, outcome=NOT_ENOUGH_EVIDENCE,
            reason="no labelled readings are newer than what both models trained on: ingest "
            "more statuses, then train again",
        )  # fmt: skip
    new = _verdicts(model, window).astype(bool)
    f1 = _f1_of(failed, new)
    if champion is None:
        return GateResult(
            **span, f1=f1, champion=None, champion_f1=None, passed=True, outcome=PROMOTE,
            reason="no model is deployed yet",
        )  # fmt: skip
    champion_model, champion_entry = champion
    old = _verdicts(champion_model, window).astype(bool)
    return _decided(failed, new, old, span, champion_entry.name, min_failures)


def live_gate(
    failed: np.ndarray,
    new: np.ndarray,
    old: np.ndarray,
    udis: np.ndarray,
    champion: str,
    margin: float,
    min_failures: int,
) -> GateResult:
    """The same decision on live evidence: both models' verdicts on readings scored while one
    was deployed and the other shadowed it, labelled since."""
    failed, new, old = (np.asarray(a, dtype=bool) for a in (failed, new, old))
    span = _span(np.asarray(udis), failed, margin)
    return _decided(failed, new, old, span, champion, min_failures, live=True)


def _span(udis: np.ndarray, failed: np.ndarray, margin: float) -> dict:
    """What a verdict was reached on: the window's UDIs, its size and failures, the margin."""
    return {
        "window_first_udi": int(udis.min()) if len(udis) else None,
        "window_last_udi": int(udis.max()) if len(udis) else None,
        "window_rows": len(udis),
        "margin": margin,
        "failures": int(failed.sum()),
    }


def _decided(
    failed: np.ndarray,
    new: np.ndarray,
    old: np.ndarray,
    span: dict,
    champion: str,
    min_failures: int,
    live: bool = False,
) -> GateResult:
    decision = decide(failed, new, old, span["margin"], min_failures)
    reason = _reason(decision, span, span["margin"], min_failures)
    return GateResult(
        **span, f1=_f1_of(failed, new), champion=champion, champion_f1=_f1_of(failed, old),
        passed=decision.outcome == PROMOTE, outcome=decision.outcome,
        f1_difference_low=round(decision.low, 4), f1_difference_high=round(decision.high, 4),
        more_failures_needed=decision.more_failures_needed,
        reason=f"live, as the champion's shadow: {reason}" if live else reason,
    )  # fmt: skip


def _reason(decision: Decision, span: dict, margin: float, min_failures: int) -> str:
    evidence = (
        f"F1 difference {decision.difference:+.4f} (95 % interval {decision.low:+.4f} to "
        f"{decision.high:+.4f}, paired) on UDI {span['window_first_udi']}-"
        f"{span['window_last_udi']}, {span['failures']} failures"
    )
    by_margin = f" by more than the margin {margin:g}" if margin else ""
    if decision.outcome == PROMOTE:
        return f"promote: beats the champion{by_margin}: {evidence}"
    if decision.outcome == REJECT:
        tie = (
            " (a tie: the same F1 in every resample)" if decision.low == decision.high == 0 else ""
        )
        return f"reject: does not beat the champion{by_margin}{tie}: {evidence}"
    needed = decision.more_failures_needed
    why = (
        f"fewer than {min_failures} failures"
        if span["failures"] < min_failures
        else f"the interval still reaches below the margin {margin:g}"
    )
    return (
        f"not enough evidence yet ({why}): {evidence}; about {needed} more labelled failures "
        "would settle it; the model stays trained"
    )
