"""`production_model_candidates`' picture: each decided model's paired-bootstrap interval of
its F1 minus the champion's, against the margin it had to clear, coloured by the outcome."""

from __future__ import annotations

from mlops_demo.core.pictures.canvas import ALARM, CAUGHT, NEUTRAL, Picture, new_figure, picture
from mlops_demo.core.registry.entries import PROMOTE, REJECT, ModelEntry

OUTCOME_COLOURS = {PROMOTE: CAUGHT, REJECT: ALARM}
GATES_DRAWN = 8


def gate_picture(entries: list[ModelEntry]) -> Picture | None:
    """The picture of the newest gates that compared against a champion, or None
    when no gate has yet."""
    compared = [
        e
        for e in entries
        if e.gate.champion_f1 is not None and e.gate.f1_difference_low is not None
    ][-GATES_DRAWN:]
    if not compared:
        return None
    figure, (ax,) = new_figure(height_inches=1.0 + 0.35 * len(compared))
    for row, entry in enumerate(compared):
        gate = entry.gate
        difference = (gate.f1 or 0.0) - gate.champion_f1
        colour = OUTCOME_COLOURS.get(gate.outcome, NEUTRAL)
        ax.plot([gate.f1_difference_low, gate.f1_difference_high], [row, row], color=colour, lw=3)
        ax.plot([difference], [row], "o", color=colour)
        ax.text(gate.f1_difference_high, row, f"  {gate.outcome or 'decided'}", va="center",
                fontsize=7, color=colour)  # fmt: skip
    ax.axvline(0, color=NEUTRAL, lw=1)
    ax.axvline(compared[-1].gate.margin, color=CAUGHT, linestyle="--", label="margin to clear")
    ax.set_yticks(range(len(compared)), [e.name.split("/")[-1] for e in compared], fontsize=7)
    ax.set_xlabel("F1 of the model minus the champion's, with its paired 95 % interval")
    ax.legend(fontsize=7, loc="lower right")
    return picture(
        figure,
        "Each model against the champion of its day, on readings neither trained on. A model is "
        "promoted only when its whole interval lies right of the margin; a tie (the dot on 0) "
        "never wins.",
    )
