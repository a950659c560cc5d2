"""The model card written beside each registered model, and the confusion-matrix table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

RELIABILITY_NOTE = "ten equal-width bins of the probability said"

if TYPE_CHECKING:
    from mlops_demo.core.registry.entries import ModelEntry


def confusion_markdown(matrix: list[list[int]]) -> str:
    """The confusion matrix [[TN, FP], [FN, TP]] as a Markdown table."""
    (tn, fp), (fn, tp) = matrix
    return (
        "| | predicted healthy | predicted failure |\n| --- | --- | --- |\n"
        f"| healthy | {tn} | {fp} |\n| failed | {fn} | {tp} |"
    )


def _rows(values: dict, number_format: str = "") -> str:
    return "\n".join(f"| {key} | {value:{number_format}} |" for key, value in values.items())


def _scores_row(name: str, figures: dict) -> str:
    return (
        f"| {name} | {figures['rows']} | {figures['failures']} | {figures['precision']:.3f} | "
        f"{figures['recall']:.3f} | {figures['f1']:.3f} | {figures['pr_auc']:.3f} |"
    )


def folds_markdown(evaluation: dict) -> str:
    """Per fold and pooled, the model's scores, and the documented rules' on the same rows."""
    if not evaluation.get("folds"):
        return "No forward-chained evaluation: too few rows with both failed and healthy machines."
    header = (
        "| tested on | rows | failures | precision | recall | F1 | PR AUC |\n"
        "| --- | --- | --- | --- | --- | --- | --- |"
    )
    folds = [
        _scores_row(f"UDI {f['first_udi']}-{f['last_udi']} ({f['training_rows']} trained)",
                    f["scores"])
        for f in evaluation["folds"]
    ]  # fmt: skip
    pooled = evaluation["pooled"]
    return "\n".join(
        [
            header,
            *folds,
            _scores_row("**pooled**", pooled),
            _scores_row("documented rules, same rows", evaluation["rules"]),
            "",
            f"Pooled F1 {pooled['f1']:.3f}, 95 % bootstrap interval "
            f"{pooled['f1_low']:.3f}-{pooled['f1_high']:.3f}.",
        ]
    )


def calibration_markdown(evaluation: dict) -> str:
    """The Brier score, the expected calibration error and the reliability table."""
    calibration = evaluation.get("calibration")
    if not calibration:
        return "Not measured."
    rows = "\n".join(
        f"| {b['bin']} | {b['rows']} | {b['mean_probability']:.3f} | {b['failure_rate']:.3f} |"
        for b in calibration["reliability"]
    )
    return (
        f"Brier score {calibration['brier']:.4f}; expected calibration error "
        f"{calibration['ece']:.4f} (forward-chained, {RELIABILITY_NOTE}).\n\n"
        "| probability said | readings | mean said | failure rate seen |\n"
        f"| --- | --- | --- | --- |\n{rows}"
    )


def recall_by_type_markdown(by_type: dict) -> str:
    """Per failure type: failures, how many were caught, recall."""
    rows = "\n".join(
        f"| {kind} | {v['failures']} | {v['caught']} | {v['caught'] / v['failures']:.2f} |"
        for kind, v in sorted(by_type.items())
    )
    return f"| failure type | failures | caught | recall |\n| --- | --- | --- | --- |\n{rows}"


def named_mode_sentence(named: dict) -> str:
    share = f" ({named['named_correctly'] / named['caught']:.0%})" if named["caught"] else ""
    return (
        f"Of {named['caught']} caught heat-dissipation, power and overstrain failures, the named "
        f"mode was the actual one for {named['named_correctly']}{share}."
    )


def failure_types_markdown(evaluation: dict) -> str:
    """Recall per failure type, how often the named mode was the actual one, and the scores at
    the crew's capacity."""
    if not evaluation.get("recall_by_failure_type"):
        return "Not measured."
    capacity = evaluation["at_capacity"]
    limit = capacity["capacity"] or "no limit"
    return (
        f"{recall_by_type_markdown(evaluation['recall_by_failure_type'])}\n\n"
        f"{named_mode_sentence(evaluation['named_mode'])}\n\n"
        f"At the crew's capacity ({limit} per {capacity['batch']} readings): precision "
        f"{capacity['precision']:.3f}, recall {capacity['recall']:.3f}."
    )


LIMITS = """- Random failures (0.1 % of days, by the data set's design) cannot be foreseen from a
  reading: no model catches them, and none of the scores above pretends to.
- Tool-wear failures come at a random wear between 200 and 240 min: the model can name the window
  (and the crew change the tool) but not the day.
- Readings whose inputs lie far outside what the model trained on are refused, not scored.
- The probabilities are calibrated on readings newer than those the trees were fitted on; the
  reliability table shows how well that held on the forward-chained folds."""


def model_card(entry: ModelEntry, pictures: Sequence[tuple[str, str]] = ()) -> str:
    """The card a person reads beside the model; `pictures` are (file beside it, caption)."""
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

## Forward-chained evaluation (the headline)
Each fold trains on every joined reading before it and tests the next block.
{folds_markdown(entry.evaluation)}

## Failures by type
{failure_types_markdown(entry.evaluation)}

## Calibration
`failure_probability` is calibrated on {entry.calibrated_on}.
{calibration_markdown(entry.evaluation)}

## Test scores (failure class, the newest 30 %)
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

## Limits
{LIMITS}

## Library versions
| library | version |
| --- | --- |
{_rows(entry.versions)}
{_pictures(pictures)}"""


def _pictures(pictures: Sequence[tuple[str, str]]) -> str:
    if not pictures:
        return ""
    return "\n## Pictures\n" + "".join(
        f"\n![{caption}]({file})\n\n{caption}\n" for file, caption in pictures
    )
