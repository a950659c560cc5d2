"""The morning's estimate, before any status arrives: how many failures to expect, and how well
the flagged machines should do, read from the calibrated failure probabilities alone.

Each reading fails or not, independently, with its calibrated probability, so the day's count
of failures is Poisson-binomial: its mean is the sum of the probabilities, its interval comes
from the exact distribution. The expected confusion counts follow the same way (NannyML's CBPE
estimates performance like this): a flagged reading is caught with its probability, an
unflagged one is missed with its probability. Only as right as the calibration: a shift the
model's inputs absorb keeps it right, a change of the plant itself does not, and then only the
statuses tell (the decay check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlops_demo.core.model.evaluation import f1_of_counts

INTERVAL_LEVEL = 0.90
# Counts more than this many standard deviations above the mean hold no mass worth computing.
_TAIL_SDS = 12
_BLOCK = 4096


def failure_count_distribution(probabilities: np.ndarray) -> np.ndarray:
    """P(exactly k failures) for k = 0, 1, ...: the Poisson-binomial distribution over the counts
    that hold any mass, exact up to rounding. Computed from its characteristic function by one
    FFT (Hong, 2013), in blocks of readings so that memory stays flat however many there are."""
    p = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    mean, sd = p.sum(), math.sqrt(float((p * (1 - p)).sum()))
    # Counts past the tail would wrap around onto small counts; they hold no mass worth keeping.
    size = min(len(p), math.ceil(mean + _TAIL_SDS * sd + _TAIL_SDS)) + 1
    roots = np.exp(2j * np.pi * np.arange(size) / size) - 1
    characteristic = np.ones(size, dtype=complex)
    for start in range(0, len(p), _BLOCK):
        characteristic *= np.prod(1 + np.outer(p[start : start + _BLOCK], roots), axis=0)
    return np.clip(np.fft.fft(characteristic).real / size, 0.0, None)


def count_interval(probabilities: np.ndarray, level: float = INTERVAL_LEVEL) -> tuple[int, int]:
    """The central interval of the failure count holding at least `level` of the chance."""
    cdf = np.cumsum(failure_count_distribution(probabilities))
    tail = (1 - level) / 2
    low = int(np.searchsorted(cdf, tail, side="right"))
    high = int(np.searchsorted(cdf, 1 - tail - 1e-12, side="left"))
    return low, min(high, len(cdf) - 1)


@dataclass(frozen=True)
class Estimate:
    """What a batch of scored readings is expected to hold and to yield, before its statuses."""

    readings: int
    expected_failures: float
    interval: tuple[int, int]
    flagged: int
    expected_caught: float

    @property
    def expected_false_alarms(self) -> float:
        return self.flagged - self.expected_caught

    @property
    def expected_missed(self) -> float:
        return self.expected_failures - self.expected_caught

    @property
    def precision(self) -> float | None:
        return self.expected_caught / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.expected_caught / self.expected_failures if self.expected_failures else None

    @property
    def f1(self) -> float | None:
        if not self.flagged and not self.expected_failures:
            return None
        return f1_of_counts(self.expected_caught, self.expected_false_alarms, self.expected_missed)

    def summary(self) -> dict:
        """The figures as metadata shows them, rounded to what they can claim."""
        return {
            "expected_failures": round(self.expected_failures, 1),
            "expected_failures_interval": list(self.interval),
            "expected_precision": _rounded(self.precision),
            "expected_recall": _rounded(self.recall),
            "expected_f1": _rounded(self.f1),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def estimate(probabilities: np.ndarray, flagged: np.ndarray) -> Estimate:
    """The estimate for readings with these calibrated failure probabilities, of which those
    where `flagged` is true are called at risk."""
    p = np.asarray(probabilities, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    return Estimate(
        readings=len(p),
        expected_failures=float(p.sum()),
        interval=count_interval(p) if len(p) else (0, 0),
        flagged=int(flagged.sum()),
        expected_caught=float(p[flagged].sum()),
    )
