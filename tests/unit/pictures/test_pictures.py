"""Each judgment's picture: drawn from the figures the judgment itself uses, at the width the
asset page shows, and saying what the judgment said (a warned batch ringed, a fired test drawn,
an outcome coloured)."""

import struct

import numpy as np
import pandas as pd
import pytest
from helpers.models import gate as gate_result
from helpers.models import summary

from mlops_demo.core.messages.records import PRODUCT_ID, TYPE, UDI
from mlops_demo.core.monitoring.drift import TEMPERATURE_DIFFERENCE, Finding
from mlops_demo.core.monitoring.performance import Confusion, Expected
from mlops_demo.core.pictures import drift, gate, inference, monitoring, training
from mlops_demo.core.pictures.canvas import DPI, WIDTH_INCHES
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.registry.entries import PROMOTE, REJECT, ModelEntry

EXPECTED = Expected(caught=85, missed=15, false_alarms=0, source="forward-chained")


@pytest.fixture
def figures(monkeypatch):
    """The pictures' figures themselves, to read what they drew."""
    for module in (drift, gate, inference, monitoring, training):
        monkeypatch.setattr(module, "picture", lambda figure, caption: figure)


def _width(png: bytes) -> int:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", png[16:20])[0]


def _labels(figure) -> set[str]:
    return {
        text.get_text() for ax in figure.axes if ax.get_legend() for text in ax.get_legend().texts
    }


def _scored(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    probability = np.sort(rng.beta(1, 30, n))[::-1]
    return pd.DataFrame(
        {
            UDI: np.arange(1, n + 1),
            PRODUCT_ID: [f"L{i}" for i in range(n)],
            "failure_probability": probability,
            "at_risk": probability > 0.2,
            "failure_mode": "power",
        }
    )


def test_a_picture_is_a_png_as_wide_as_the_asset_page_and_embeds_in_markdown():
    drawn = inference.risk_picture(_scored(300))
    assert _width(drawn.image) == WIDTH_INCHES * DPI
    assert drawn.markdown().startswith("![") and "(data:image/png;base64," in drawn.markdown()
    assert drawn.markdown().endswith(drawn.caption)


def test_the_risk_picture_draws_the_riskiest_and_every_reading(figures):
    scored = _scored(300)
    figure = inference.risk_picture(scored)
    bars, spread = figure.axes
    assert len(bars.patches) == inference.RISKIEST_DRAWN
    assert sum(p.get_height() for p in spread.patches) == len(scored)
    assert f"{scored['failure_probability'].sum():.1f}" in spread.get_title()


def _batches(*caught: int) -> list[tuple[str, Confusion]]:
    return [(f"2026-12-0{i + 1}", Confusion(c, 17 - c, 0, 483)) for i, c in enumerate(caught)]


def test_the_performance_picture_rings_exactly_the_batches_the_decay_check_warned_on(figures):
    holding = monitoring.performance_picture("m", _batches(14, 15), EXPECTED, 100, 0.01)
    assert "decay warning" not in _labels(holding)
    decayed = monitoring.performance_picture("m", _batches(14, 4), EXPECTED, 100, 0.01)
    assert "decay warning" in _labels(decayed)
    [rings] = [c for c in decayed.axes[0].collections if c.get_label() == "decay warning"]
    assert rings.get_offsets().tolist() == [[2.0, Confusion(4, 13, 0, 483).f1]]


def test_the_performance_picture_sets_the_shadow_beside_the_champion(figures):
    shadow = ("trained-models/model-b.pickle", _batches(16))
    figure = monitoring.performance_picture("m", _batches(14, 15), EXPECTED, 100, 0.01, shadow)
    assert "shadow F1 (model-b.pickle)" in _labels(figure)


def _entry(name: str, outcome: str, low: float, high: float) -> ModelEntry:
    result = gate_result(outcome == PROMOTE, 0.9)
    return ModelEntry(
        **summary().__dict__, name=name, sha256="0", created_at="", versions={},
        gate=result.__class__(**{**result.__dict__, "champion": "c", "champion_f1": 0.85,
                                 "outcome": outcome, "f1_difference_low": low,
                                 "f1_difference_high": high, "margin": 0.01}),
    )  # fmt: skip


def test_the_gate_picture_draws_each_compared_model_coloured_by_its_outcome(figures):
    assert gate.gate_picture([]) is None
    entries = [_entry("a", REJECT, -0.05, 0.08), _entry("b", PROMOTE, 0.02, 0.12)]
    figure = gate.gate_picture(entries)
    [ax] = figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    outcomes = {t.get_text().strip(): t.get_color() for t in ax.texts}
    assert outcomes == {
        REJECT: gate.OUTCOME_COLOURS[REJECT],
        PROMOTE: gate.OUTCOME_COLOURS[PROMOTE],
    }


def test_the_training_picture_needs_the_forward_chained_evaluation(figures):
    assert training.training_picture({}) is None
    scores = {"f1": 0.9, "precision": 1.0, "recall": 0.82}
    evaluation = {
        "folds": [{"scores": {"f1": 0.88}}, {"scores": {"f1": 0.93}}],
        "pooled": scores,
        "rules": {"f1": 0.91, "precision": 0.95, "recall": 0.87},
        "calibration": {"ece": 0.003, "reliability": [
            {"mean_probability": 0.01, "failure_rate": 0.012, "rows": 900},
            {"mean_probability": 0.95, "failure_rate": 0.93, "rows": 30}]},
        "pr_curve": [[0.0, 1.0], [0.82, 1.0], [1.0, 0.1]],
    }  # fmt: skip
    reliability, curve, folds = training.training_picture(evaluation).axes
    assert [p.get_height() for p in folds.patches] == [0.88, 0.93]
    assert reliability.collections[0].get_offsets().tolist() == [[0.01, 0.012], [0.95, 0.93]]
    assert {"documented rules (F1 0.910)", "model's threshold (F1 0.900)"} <= {
        t.get_text() for t in curve.get_legend().texts
    }


def test_the_drift_picture_draws_each_test_that_fired(figures):
    readings = pd.DataFrame(simulate(400))
    reference, before, newest = readings[:300], readings[299:300], readings[300:]
    quiet = [Finding("step", TEMPERATURE_DIFFERENCE, 1.0, 0.4, "")]
    assert drift.drift_picture(reference, before, newest, quiet) is None
    fired = [
        Finding("step", TEMPERATURE_DIFFERENCE, 9.0, 1e-9, "", drifted=True),
        Finding("distribution", TYPE, 0.3, 1e-6, "", drifted=True),
    ]
    figure = drift.drift_picture(reference, before, newest, fired)
    assert [ax.get_title() for ax in figure.axes] == [
        f"step: {TEMPERATURE_DIFFERENCE}",
        f"distribution: {TYPE}",
    ]
    assert len(figure.axes[1].patches) == 2 * readings[TYPE].nunique()
