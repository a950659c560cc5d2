"""Drift: have the newest readings left what the deployed model knows, and which sensor, how?

The readings are a time series with physics behind them, so each test asks a question the data
can answer:

- **A step** in air temperature, process temperature or their difference. The temperatures are
  a slow random walk (lag-one autocorrelation 0.9994; their level wanders about 5 K over a
  thousand readings), so their level says nothing, but they move by 0.07 K a reading and by at
  most 0.3 K in the whole reference data. A sensor offset or a heat wave is a step: the largest
  change from one reading to the next, from the reading before the batch on, scaled by the
  spread of those changes along the reference. Readings are rounded to 0.1 K, which makes the
  changes' tails heavier than a normal's, so the tail is Student's t with six degrees of
  freedom, and the chance is that of the largest of the batch's changes.
- **A stuck sensor**: a temperature that stops moving (the share of steps of zero, binomial
  against the reference's share).
- **A distribution** of what does not wander: torque, speed, power, tool wear and the product
  mix (Kolmogorov-Smirnov at the effective sample size, chi-square for the type).
- **A broken relation**: the drive's speed follows its torque (rpm proportional to
  torque^-0.368, with 3.6 % noise, `physics.SPEED_TORQUE_EXPONENT`), so a torque sensor reading
  5 % low shows as speed too high for the torque reported, long before the torque's own
  distribution does. The exponent is the plant's, not refitted on each reference: a refitted
  slope's own error raised false alarms.
- **An early tool reset**: the tool is replaced once its wear reaches 200-240 min; a wear
  counter that falls back from below `EARLY_RESET_BELOW_MIN` is a counter fault.

Every test gives a p-value; Holm's correction keeps the chance that a clean batch raises any
alarm under `p_value` (the family-wise error rate), however many tests run. Measured error rates
per scenario: `bench/decisions.py` and `docs/monitoring.md`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    PRODUCT_TYPES,
    ROTATIONAL_SPEED,
    TOOL_WEAR,
    TORQUE,
    TYPE,
)
from mlops_demo.core.plant import physics

STEP_TAIL_DEGREES_OF_FREEDOM = 6
EARLY_RESET_BELOW_MIN = 0.95 * physics.TOOL_REPLACEMENT_WINDOW_MIN[0]
EARLY_RESET_FLOOR = 1e-7
TEMPERATURE_DIFFERENCE = "temperature difference [K]"
POWER = "mechanical power [W]"
SPEED_FOR_TORQUE = "speed for its torque"


@dataclass(frozen=True)
class DriftThresholds:
    p_value: float = 0.01  # the family-wise chance of an alarm on a clean batch
    min_readings: int = 100  # fewer new or reference readings than this: no verdict
    window: int = 500  # the newest readings after the training data are compared ...
    reference_rows: int = 50_000  # ... with at most this many training readings, the newest


@dataclass(frozen=True)
class Finding:
    test: str  # the kind of change: step, stuck, distribution, relation, early reset
    feature: str
    statistic: float
    p_value: float
    detail: str  # the change in the reading's own units
    drifted: bool = False
    # A step's size in the reading's units, and its place in the batch (its reading's position).
    change: float = 0.0
    at: int | None = None


def skip_reason(reference: pd.DataFrame, newest: pd.DataFrame, minimum: int) -> str | None:
    """Why no verdict can be given on these samples, or None."""
    if len(reference) < minimum:
        return f"only {len(reference)} training readings to compare with (need {minimum})"
    if len(newest) < minimum:
        return f"only {len(newest)} readings since the training data (need {minimum})"
    return None


def autocorrelation_time(values: np.ndarray) -> float:
    """The integrated autocorrelation time (1 for independent draws), by Geyer's initial
    positive sequence: lag pairs are summed while their sum stays positive."""
    x = np.asarray(values, dtype=float)
    x = x - x.mean()
    n = len(x)
    if n < 4 or not x.any():
        return 1.0
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    acf /= acf[0]
    pairs = acf[: n - 1 : 2] + acf[1:n:2]
    ends = np.flatnonzero(pairs <= 0)
    kept = pairs[: ends[0]] if len(ends) else pairs
    return max(1.0, float(-1 + 2 * kept.sum()))


def series(readings: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each quantity the tests compare, by its name in the findings."""
    q = physics.quantities(readings)
    return {
        AIR_TEMPERATURE: readings[AIR_TEMPERATURE].to_numpy(float),
        PROCESS_TEMPERATURE: readings[PROCESS_TEMPERATURE].to_numpy(float),
        TEMPERATURE_DIFFERENCE: q["temperature_difference_k"].to_numpy(float),
        TORQUE: readings[TORQUE].to_numpy(float),
        ROTATIONAL_SPEED: readings[ROTATIONAL_SPEED].to_numpy(float),
        POWER: q["mechanical_power_w"].to_numpy(float),
        TOOL_WEAR: readings[TOOL_WEAR].to_numpy(float),
    }


def _any_of(p_single: float, positions: int) -> float:
    """The chance that any of `positions` tests, each with tail `p_single`, fires by chance."""
    return float(min(1.0, -math.expm1(positions * math.log1p(-min(p_single, 1 - 1e-16)))))


def _step(feature: str, reference: np.ndarray, before: np.ndarray, newest: np.ndarray) -> Finding:
    from scipy import stats

    scale = max(float(np.std(np.diff(reference))), 1e-3)
    changes = np.diff(np.concatenate([before[-1:], newest]))
    if not len(changes):
        return Finding("step", feature, 0.0, 1.0, "too few readings to look for a step")
    at = int(np.argmax(np.abs(changes)))
    z = abs(changes[at]) / scale
    p_value = _any_of(2 * stats.t.sf(z, STEP_TAIL_DEGREES_OF_FREEDOM), len(changes))
    detail = (
        f"{feature} steps by {changes[at]:+.2f} from one reading to the next ({z:.0f}x the "
        "training readings' spread of such changes)"
    )
    return Finding("step", feature, float(z), p_value, detail, change=float(changes[at]), at=at)


def _stuck(feature: str, reference: np.ndarray, newest: np.ndarray) -> Finding:
    from scipy import stats

    still_before = float(np.mean(np.diff(reference) == 0))
    steps = np.diff(newest)
    still = int((steps == 0).sum())
    share = min(max(still_before, 1e-3), 0.999)
    p_value = float(stats.binom.sf(still - 1, len(steps), share)) if len(steps) else 1.0
    detail = (
        f"{feature} did not change in {still} of {len(steps)} steps "
        f"(training readings: {still_before:.0%})"
    )
    return Finding("stuck", feature, still / max(len(steps), 1), p_value, detail)


def _distribution(feature: str, reference: np.ndarray, newest: np.ndarray) -> Finding:
    from scipy import stats

    tau = autocorrelation_time(reference)
    statistic = float(stats.ks_2samp(reference, newest).statistic)
    n, m = len(reference) / tau, len(newest) / tau
    p_value = float(stats.kstwobign.sf(statistic * math.sqrt(n * m / (n + m))))
    detail = (
        f"{feature} mean {reference.mean():.1f} -> {newest.mean():.1f} "
        f"(KS {statistic:.2f} at effective sizes {n:.0f} and {m:.0f})"
    )
    return Finding("distribution", feature, statistic, p_value, detail)


def _product_mix(reference: pd.Series, newest: pd.Series) -> Finding:
    from scipy import stats

    ref_shares = reference.value_counts(normalize=True).reindex(PRODUCT_TYPES, fill_value=0)
    new_counts = newest.value_counts().reindex(PRODUCT_TYPES, fill_value=0)
    present = ref_shares.to_numpy() > 0
    expected = ref_shares.to_numpy()[present] * len(newest)
    observed = new_counts.to_numpy()[present]
    statistic = float(((observed - expected) ** 2 / expected).sum())
    p_value = float(stats.chi2.sf(statistic, max(1, int(present.sum()) - 1)))
    new_shares = new_counts / max(1, len(newest))
    detail = "product mix " + ", ".join(
        f"{kind} {ref_shares[kind]:.0%} -> {new_shares[kind]:.0%}" for kind in PRODUCT_TYPES
    )
    return Finding("distribution", TYPE, statistic, p_value, detail)


def _relation(reference: dict, newest: dict) -> Finding:
    from scipy import stats

    def residuals(series: dict) -> np.ndarray:
        torque = np.log(np.maximum(series[TORQUE], 1.0))
        speed = np.log(np.maximum(series[ROTATIONAL_SPEED], 1.0))
        return speed - physics.SPEED_TORQUE_EXPONENT * torque

    before, after = residuals(reference), residuals(newest)
    spread = max(float(before.std()), 1e-6)
    shift = after.mean() - before.mean()
    z = shift / (spread * math.sqrt(1 / len(before) + 1 / len(after)))
    detail = (
        f"speed runs {math.expm1(shift):+.1%} off the training readings' speed-torque curve: "
        "a torque or speed sensor reads off"
    )
    return Finding("relation", SPEED_FOR_TORQUE, float(z), float(2 * stats.norm.sf(abs(z))), detail)


def _early_resets(reference: np.ndarray, before: np.ndarray, newest: np.ndarray) -> Finding:
    from scipy import stats

    def resets(wear: np.ndarray) -> int:
        falls = np.flatnonzero(np.diff(wear) < 0)
        return int((wear[falls] < EARLY_RESET_BELOW_MIN).sum())

    # The documented process replaces tools only in their window: unless the training readings
    # show early falls, one is taken as a one-in-ten-million event per reading.
    rate = max(resets(reference) / max(len(reference), 1), EARLY_RESET_FLOOR)
    seen = resets(np.concatenate([before[-1:], newest]))
    p_value = float(stats.poisson.sf(seen - 1, rate * len(newest))) if seen else 1.0
    detail = (
        f"tool wear fell back from below {EARLY_RESET_BELOW_MIN:.0f} min {seen} times "
        f"(tools are replaced at {physics.TOOL_REPLACEMENT_WINDOW_MIN[0]}-"
        f"{physics.TOOL_REPLACEMENT_WINDOW_MIN[1]} min)"
    )
    return Finding("early reset", TOOL_WEAR, float(seen), p_value, detail)


def _holm(findings: list[Finding], family_p: float) -> list[Finding]:
    """Holm's step-down correction: the family-wise error rate stays under `family_p`."""
    order = sorted(range(len(findings)), key=lambda i: findings[i].p_value)
    drifted = [False] * len(findings)
    for rank, i in enumerate(order):
        if findings[i].p_value > family_p / (len(findings) - rank):
            break
        drifted[i] = True
    return [
        Finding(**{**f.__dict__, "drifted": flag})
        for f, flag in zip(findings, drifted, strict=True)
    ]


def assess(
    reference: pd.DataFrame,
    before: pd.DataFrame,
    newest: pd.DataFrame,
    thresholds: DriftThresholds,
) -> list[Finding]:
    """Every test of the newest readings against the reference (the deployed model's training
    readings), with `before` the readings just before the newest, all in time order."""
    ref, new, prior = series(reference), series(newest), series(before)
    findings = [
        _step(feature, ref[feature], prior[feature], new[feature])
        for feature in (AIR_TEMPERATURE, PROCESS_TEMPERATURE, TEMPERATURE_DIFFERENCE)
    ]
    findings += [
        _stuck(feature, ref[feature], new[feature])
        for feature in (AIR_TEMPERATURE, PROCESS_TEMPERATURE)
    ]
    findings += [
        _distribution(feature, ref[feature], new[feature])
        for feature in (TORQUE, ROTATIONAL_SPEED, POWER, TOOL_WEAR)
    ]
    findings.append(_product_mix(reference[TYPE], newest[TYPE]))
    findings.append(_relation(ref, new))
    findings.append(_early_resets(ref[TOOL_WEAR], prior[TOOL_WEAR], new[TOOL_WEAR]))
    return _holm(findings, thresholds.p_value)


def summary(findings: list[Finding]) -> str:
    """One sentence: what changed and how, or that nothing did."""
    drifted = [f"{f.test}: {f.detail}" for f in findings if f.drifted]
    return f"drifted: {'; '.join(drifted)}" if drifted else "no test found a change"
