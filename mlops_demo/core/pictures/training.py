"""`trained_model`'s picture, from its forward-chained evaluation: the reliability diagram, the
precision-recall curve beside the documented rules on the same rows, and F1 per fold."""

from __future__ import annotations

from mlops_demo.core.pictures.canvas import CAUGHT, MISSED, NEUTRAL, Picture, new_figure, picture


def training_picture(evaluation: dict) -> Picture | None:
    """The picture, or None for a model trained without the evaluation."""
    if not evaluation.get("folds"):
        return None
    figure, (reliability, curve, folds) = new_figure(height_inches=2.9, columns=3)
    bins = evaluation["calibration"]["reliability"]
    reliability.plot([0, 1], [0, 1], ":", color=NEUTRAL)
    reliability.scatter(
        [b["mean_probability"] for b in bins],
        [b["failure_rate"] for b in bins],
        s=[min(200, 10 + b["rows"] / 20) for b in bins],
        color=CAUGHT,
    )
    reliability.set(xlim=(0, 1), ylim=(0, 1), xlabel="probability said", ylabel="failure rate seen")
    reliability.set_title(f"reliability (ECE {evaluation['calibration']['ece']:.4f})", fontsize=9)
    points = evaluation.get("pr_curve", [])
    if points:
        curve.plot(*zip(*points, strict=True), color=CAUGHT, label="model")
    pooled, rules = evaluation["pooled"], evaluation["rules"]
    curve.scatter([pooled["recall"]], [pooled["precision"]], color=CAUGHT, zorder=3,
                  label=f"model's threshold (F1 {pooled['f1']:.3f})")  # fmt: skip
    curve.scatter([rules["recall"]], [rules["precision"]], color=MISSED, marker="D", zorder=3,
                  label=f"documented rules (F1 {rules['f1']:.3f})")  # fmt: skip
    curve.set(xlim=(0, 1.02), ylim=(0, 1.05), xlabel="recall", ylabel="precision")
    curve.set_title("precision-recall, same rows", fontsize=9)
    curve.legend(fontsize=6, loc="lower left")
    f1s = [fold["scores"]["f1"] for fold in evaluation["folds"]]
    folds.bar(range(1, len(f1s) + 1), f1s, color=CAUGHT)
    folds.axhline(rules["f1"], color=MISSED, linestyle="--", label="rules, pooled")
    folds.set(ylim=(0, 1.05), xlabel="fold (oldest first)", ylabel="F1")
    folds.set_title(f"F1 per fold (pooled {pooled['f1']:.3f})", fontsize=9)
    folds.legend(fontsize=6, loc="lower right")
    return picture(
        figure,
        "Forward-chained evaluation, each fold trained only on readings before it. Left: "
        "probabilities against the failure rate seen (on the diagonal: calibrated; dot size: "
        "readings). Middle: the model's precision-recall curve and the documented rules on the "
        "same rows. Right: F1 per fold.",
    )
