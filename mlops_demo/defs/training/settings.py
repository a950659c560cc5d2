"""Training's window, and the gate's thresholds: the F1 floor of a new model, the margin over the
champion, and the evidence a promotion needs. Training, the candidates step and monitoring's
live gate read them."""

import dagster as dg
from pydantic import Field


class GateSettings(dg.ConfigurableResource):
    """What a new model must show to become a candidate."""

    min_f1: float = Field(
        default=0.3, ge=0, le=1, description="the F1 floor of trained_model_f1_meets_floor"
    )
    champion_margin: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="how much a new model's F1 must beat the champion's to become a candidate",
    )
    gate_min_failures: int = Field(
        default=10,
        ge=1,
        description="labelled failures the gate's window must hold before it promotes a model",
    )


class TrainingSettings(dg.ConfigurableResource):
    """What a model learns from."""

    training_window: int = Field(
        default=20_000,
        ge=0,
        description="the newest labelled readings a model trains and is tested on (0: every "
        "one); a run's cost follows it, not the history (docs/lifecycle.md measures it)",
    )
