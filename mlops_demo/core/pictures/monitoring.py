"""`deployed_model_performance`'s picture: realized precision, recall and F1 per labelled scoring
batch, the band the forward-chained evaluation expects for a batch of that size, the batches the
decay check warned on, and the shadow's F1 beside the champion's."""

from __future__ import annotations

from mlops_demo.core.monitoring.performance import (
    Confusion,
    Expected,
    batch_verdict,
    expected_band,
)
from mlops_demo.core.pictures.canvas import (
    ALARM,
    CAUGHT,
    MISSED,
    NEUTRAL,
    Picture,
    new_figure,
    picture,
)


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value


def performance_picture(
    champion: str,
    batches: list[tuple[str, Confusion]],
    expected: Expected,
    min_labelled: int,
    p_value: float,
    shadow: tuple[str, list[tuple[str, Confusion]]] | None = None,
) -> Picture:
    """The picture of each labelled batch, oldest on the left."""
    figure, (ax,) = new_figure(height_inches=3.4)
    x = list(range(1, len(batches) + 1))
    counts = [counts for _, counts in batches]
    recall_band = [
        expected_band(expected.caught, expected.missed, c.caught + c.missed) for c in counts
    ]
    precision_band = [
        expected_band(expected.caught, expected.false_alarms, c.caught + c.false_alarms)
        for c in counts
    ]
    ax.fill_between(x, *zip(*recall_band, strict=True), color=MISSED, alpha=0.15, step="mid",
                    label="recall expected (90 %)")  # fmt: skip
    ax.fill_between(x, *zip(*precision_band, strict=True), color=CAUGHT, alpha=0.15, step="mid",
                    label="precision expected (90 %)")  # fmt: skip
    ax.plot(x, [_nan_if_none(c.recall) for c in counts], "o-", color=MISSED, label="recall")
    ax.plot(x, [_nan_if_none(c.precision) for c in counts], "o-", color=CAUGHT, label="precision")
    ax.plot(x, [_nan_if_none(c.f1) for c in counts], "s-", color="black", label="F1")
    warned = [
        (i, c.f1 or 0.0)
        for i, c in zip(x, counts, strict=True)
        if not batch_verdict(c, expected, min_labelled, p_value).passed
    ]
    if warned:
        ax.scatter(*zip(*warned, strict=True), s=180, facecolors="none", edgecolors=ALARM,
                   linewidths=2, label="decay warning", zorder=3)  # fmt: skip
    if shadow is not None:
        name, shadow_batches = shadow
        by_time = dict(shadow_batches)
        shadow_f1 = [_nan_if_none(by_time[t].f1) if t in by_time else float("nan")
                     for t, _ in batches]  # fmt: skip
        ax.plot(x, shadow_f1, "s--", color=NEUTRAL, label=f"shadow F1 ({name.split('/')[-1]})")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xticks(x)
    ax.set_xlabel("labelled scoring batch, oldest first")
    ax.set_title(f"{champion.split('/')[-1]}: realized figures per batch", fontsize=9)
    ax.legend(fontsize=7, ncol=3, loc="lower left")
    return picture(
        figure,
        "Each batch's realized precision, recall and F1 once its statuses arrived. The shaded "
        f"bands are what the model's {expected.source} evaluation expects for a batch with that "
        "many failures and alarms; a red ring marks a batch the decay check warned on.",
    )
