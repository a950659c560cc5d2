"""The drift check's picture: for each test that fired, the training readings against the newest
batch (their distributions, or the series with the step marked for a step test). A batch where
no test fired gets none: the check runs in every ingestion run, and drawing would add about a
second to each (matplotlib's import and one figure, `bench/pictures.py`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import ROTATIONAL_SPEED, TORQUE, TYPE
from mlops_demo.core.monitoring.drift import (
    SPEED_FOR_TORQUE,
    Finding,
    series,
)
from mlops_demo.core.pictures.canvas import ALARM, NEUTRAL, Picture, new_figure, picture

PANELS = 3


def drift_picture(
    reference: pd.DataFrame, before: pd.DataFrame, newest: pd.DataFrame, findings: list[Finding]
) -> Picture | None:
    """The picture of the tests that fired, or None when none did."""
    drifted = [f for f in findings if f.drifted][:PANELS]
    if not drifted:
        return None
    figure, axes = new_figure(height_inches=2.8, columns=len(drifted))
    ref, new, prior = series(reference), series(newest), series(before)
    for ax, finding in zip(axes, drifted, strict=True):
        if finding.test == "step":
            _step(ax, finding.feature, ref, prior, new)
        elif finding.feature == TYPE:
            _shares(ax, reference[TYPE], newest[TYPE])
        elif finding.feature == SPEED_FOR_TORQUE:
            _relation(ax, reference, newest)
        else:
            _distributions(ax, finding.feature, ref[finding.feature], new[finding.feature])
        ax.set_title(f"{finding.test}: {finding.feature}", fontsize=8, color=ALARM)
    axes[0].legend(fontsize=6)
    return picture(
        figure,
        "Each test that fired: the training readings (grey) against the newest batch (red); "
        "for a step, the dashed line marks where it happened.",
    )


def _distributions(ax, feature: str, reference: np.ndarray, newest: np.ndarray) -> None:
    edges = np.histogram_bin_edges(np.concatenate([reference, newest]), bins=30)
    ax.hist(reference, bins=edges, density=True, color=NEUTRAL, alpha=0.6, label="training")
    ax.hist(newest, bins=edges, density=True, color=ALARM, histtype="step", lw=1.5,
            label="newest")  # fmt: skip
    ax.set_xlabel(feature, fontsize=7)


def _step(ax, feature: str, reference: dict, before: dict, newest: dict) -> None:
    tail = reference[feature][-len(newest[feature]) :]
    joined = np.concatenate([before[feature][-1:], newest[feature]])
    at = int(np.argmax(np.abs(np.diff(joined)))) if len(joined) > 1 else 0
    ax.plot(np.arange(-len(tail), 0), tail, color=NEUTRAL, lw=0.8, label="training")
    ax.plot(np.arange(len(newest[feature])), newest[feature], color=ALARM, lw=0.8, label="newest")
    ax.axvline(at, color=ALARM, linestyle="--", lw=1)
    ax.set_xlabel("reading (0: the first of the newest)", fontsize=7)


def _shares(ax, reference: pd.Series, newest: pd.Series) -> None:
    kinds = sorted(set(reference) | set(newest))
    x = np.arange(len(kinds))
    ref_share = reference.value_counts(normalize=True).reindex(kinds, fill_value=0)
    new_share = newest.value_counts(normalize=True).reindex(kinds, fill_value=0)
    ax.bar(x - 0.2, ref_share, width=0.4, color=NEUTRAL, label="training")
    ax.bar(x + 0.2, new_share, width=0.4, color=ALARM, label="newest")
    ax.set_xticks(x, kinds)
    ax.set_ylabel("share of readings", fontsize=7)


def _relation(ax, reference: pd.DataFrame, newest: pd.DataFrame) -> None:
    ax.scatter(reference[TORQUE], reference[ROTATIONAL_SPEED], s=2, color=NEUTRAL,
               label="training")  # fmt: skip
    ax.scatter(newest[TORQUE], newest[ROTATIONAL_SPEED], s=2, color=ALARM, label="newest")
    ax.set_xlabel(TORQUE, fontsize=7)
    ax.set_ylabel(ROTATIONAL_SPEED, fontsize=7)
