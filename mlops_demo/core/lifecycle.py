"""The gate a new model passes to become a candidate: beat the champion, by a margin, on the
newest labelled readings that neither of them trained on."""

from __future__ import annotations

import pandas as pd

from mlops_demo.core.modelling import ID_COLUMN, evaluate
from mlops_demo.core.registry import GateResult, ModelEntry


def held_out_window(test_data: pd.DataFrame, champion: ModelEntry | None) -> pd.DataFrame:
    """The newest labelled rows that neither the new model (trained before `test_data`) nor the
    champion trained on."""
    if champion is None:
        return test_data
    return test_data[test_data[ID_COLUMN] > champion.trained_through_udi]


def gate(
    model: object,
    window: pd.DataFrame,
    champion: tuple[object, ModelEntry] | None,
    margin: float,
) -> GateResult:
    """Score the new model (and the champion, if there is one) on the window and decide."""
    udis = window[ID_COLUMN]
    span = {
        "window_first_udi": int(udis.min()) if len(window) else None,
        "window_last_udi": int(udis.max()) if len(window) else None,
        "window_rows": len(window),
        "margin": margin,
    }
    if window.empty:
        return GateResult(
            **span, f1=None, champion=champion[1].name if champion else None, champion_f1=None,
            passed=False,
            reason="no labelled readings are newer than what both models trained on: ingest "
            "more statuses, then train again",
        )  # fmt: skip
    f1 = evaluate(model, window)[0]["f1"]
    if champion is None:
        return GateResult(
            **span, f1=f1, champion=None, champion_f1=None, passed=True,
            reason="no model is deployed yet",
        )  # fmt: skip
    champion_model, champion_entry = champion
    champion_f1 = evaluate(champion_model, window)[0]["f1"]
    # A tie is never a win: an equal model is no reason to replace the champion.
    passed = f1 > champion_f1 and f1 - champion_f1 >= margin
    comparison = "beats" if passed else "does not beat"
    return GateResult(
        **span, f1=f1, champion=champion_entry.name, champion_f1=champion_f1, passed=passed,
        reason=f"F1 {f1:.4f} {comparison} the champion's {champion_f1:.4f} by the margin "
        f"{margin:g} on UDI {span['window_first_udi']}-{span['window_last_udi']}",
    )  # fmt: skip
