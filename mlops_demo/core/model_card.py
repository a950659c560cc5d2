"""The model card written beside each registered model, and the confusion-matrix table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_demo.core.registry import ModelEntry


def confusion_markdown(matrix: list[list[int]]) -> str:
    """The confusion matrix [[TN, FP], [FN, TP]] as a Markdown table."""
    (tn, fp), (fn, tp) = matrix
    return (
        "| | predicted healthy | predicted failure |\n| --- | --- | --- |\n"
        f"| healthy | {tn} | {fp} |\n| failed | {fn} | {tp} |"
    )


def _rows(values: dict, number_format: str = "") -> str:
    return "\n".join(f"| {key} | {value:{number_format}} |" for key, value in values.items())


def model_card(entry: ModelEntry) -> str:
    gate = entry.gate
    return f"""# {entry.name}

Created {entry.created_at}. SHA-256 `{entry.sha256}`.

## Data
Readings joined with their daily statuses on UDI, split in time order:
{entry.training_rows} rows for training, {entry.test_rows} for the test scores below.
Training took {entry.training_seconds} s.

## Features
Reading columns in: {", ".join(entry.features)}.
The model's inputs, derived inside the pipeline: speed, torque, tool wear, process minus air
temperature, mechanical power (torque × speed in rad/s), tool wear × torque and its margin to the
type's documented overstrain limit, and the product type. The temperatures' level is not an
input: it wanders with the weather. Checked against their trained ranges before scoring (a
reading far outside is refused): {", ".join(entry.signature)}.

## Test scores (failure class)
| metric | value |
| --- | --- |
{_rows(entry.metrics, ".4f")}

## The gate (against the champion, on readings neither trained on)
{gate.reason}.
Window: {gate.window_rows} rows, UDI {gate.window_first_udi}-{gate.window_last_udi}.

## Confusion matrix
{confusion_markdown(entry.confusion_matrix)}

## Hyperparameters
| name | value |
| --- | --- |
{_rows(entry.hyperparameters)}

## Library versions
| library | version |
| --- | --- |
{_rows(entry.versions)}
"""
