"""Drift: do the newest readings still look like the readings the deployed model trained on?

Each feature is compared with two measures: a two-sample test (Kolmogorov-Smirnov for numbers,
chi-square for the product type) for "is the difference real", and the population stability
index (PSI) for "is it large". A feature drifts only when both say so, so a huge reference cannot
make a negligible shift an alarm, and a small batch cannot make noise one.

The readings are a time series, not independent draws: air and process temperature wander so
slowly (lag-one autocorrelation 0.9994) that 500 consecutive readings are worth less than one
independent one. Each test therefore counts a sample as its effective size, n divided by the
feature's integrated autocorrelation time measured on the reference; without that, every batch
would flag the temperatures' natural wander.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_demo.core.records import PRODUCT_TYPES, TYPE

PSI_BINS = 10
# An empty bin would make the PSI infinite; a share this small stands in for it.
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class DriftThresholds:
    p_value: float = 0.01  # below this the difference is taken as real
    psi: float = 0.2  # at or above this it is taken as large (the customary "major shift")
    min_readings: int = 100  # fewer new or reference readings than this: no verdict
    window: int = 500  # the newest readings after the training data are compared ...
    reference_rows: int = 50_000  # ... with at most this many training readings, the newest


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    test: str
    statistic: float
    p_value: float
    psi: float
    reference_mean: float | None
    newest_mean: float | None
    autocorrelation_time: float
    drifted: bool

    def describe(self) -> str:
        if self.reference_mean is None:
            return f"{self.feature} (PSI {self.psi:.2f}, p={self.p_value:.1g})"
        change = self.newest_mean - self.reference_mean
        return (
            f"{self.feature} mean {self.reference_mean:.1f} -> {self.newest_mean:.1f} "
            f"({change:+.1f}; PSI {self.psi:.2f}, p={self.p_value:.1g})"
        )


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


def _psi(reference_shares: np.ndarray, newest_shares: np.ndarray) -> float:
    expected = np.maximum(reference_shares, PSI_FLOOR)
    actual = np.maximum(newest_shares, PSI_FLOOR)
    return float(((actual - expected) * np.log(actual / expected)).sum())


def _numeric(
    reference: pd.Series, newest: pd.Series, tau: float
) -> tuple[str, float, float, float]:
    # Imported here: scipy.stats takes about a second, and only this check needs it.
    from scipy import stats

    ref, new = reference.to_numpy(float), newest.to_numpy(float)
    statistic = float(stats.ks_2samp(ref, new).statistic)
    n, m = len(ref) / tau, len(new) / tau
    p_value = float(stats.kstwobign.sf(statistic * math.sqrt(n * m / (n + m))))
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    bins = np.searchsorted(edges, ref, side="right"), np.searchsorted(edges, new, side="right")
    shares = [np.bincount(b, minlength=len(edges) + 1) / len(b) for b in bins]
    return "Kolmogorov-Smirnov", statistic, p_value, _psi(*shares)


def _categorical(reference: pd.Series, newest: pd.Series) -> tuple[str, float, float, float]:
    from scipy import stats

    ref_shares = reference.value_counts(normalize=True).reindex(PRODUCT_TYPES, fill_value=0)
    new_counts = newest.value_counts().reindex(PRODUCT_TYPES, fill_value=0)
    present = ref_shares.to_numpy() > 0
    expected = ref_shares.to_numpy()[present] * len(newest)
    observed = new_counts.to_numpy()[present]
    statistic = float(((observed - expected) ** 2 / expected).sum())
    p_value = float(stats.chi2.sf(statistic, max(1, int(present.sum()) - 1)))
    psi = _psi(ref_shares.to_numpy(), new_counts.to_numpy() / max(1, len(newest)))
    return "chi-square", statistic, p_value, psi


def compare_feature(
    feature: str, reference: pd.Series, newest: pd.Series, thresholds: DriftThresholds
) -> FeatureDrift:
    """One feature of the newest readings against the reference, both in time order. The
    product type is drawn independently for each reading; numbers are tested at their effective
    sample size."""
    categorical = feature == TYPE
    tau = 1.0 if categorical else autocorrelation_time(reference.to_numpy(float))
    test, statistic, p_value, psi = (
        _categorical(reference, newest) if categorical else _numeric(reference, newest, tau)
    )
    return FeatureDrift(
        feature=feature,
        test=test,
        statistic=statistic,
        p_value=p_value,
        psi=psi,
        reference_mean=None if categorical else float(reference.mean()),
        newest_mean=None if categorical else float(newest.mean()),
        autocorrelation_time=tau,
        drifted=p_value < thresholds.p_value and psi >= thresholds.psi,
    )


def compare(
    reference: pd.DataFrame,
    newest: pd.DataFrame,
    features: tuple[str, ...],
    thresholds: DriftThresholds,
) -> list[FeatureDrift]:
    return [
        compare_feature(feature, reference[feature], newest[feature], thresholds)
        for feature in features
    ]


def summary(results: list[FeatureDrift]) -> str:
    """One sentence: which features drifted and how, or that none did."""
    drifted = [r.describe() for r in results if r.drifted]
    return f"drifted: {'; '.join(drifted)}" if drifted else "no feature drifted beyond the limits"
