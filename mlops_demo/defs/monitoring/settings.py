"""Monitoring's thresholds: when the decay check judges a batch and how surely, and how many
readings may wait for their status."""

import dagster as dg
from pydantic import Field


class MonitoringSettings(dg.ConfigurableResource):
    """What the realized-performance checks allow."""

    min_labelled_predictions: int = Field(
        default=200,
        ge=1,
        description="labelled predictions the newest scoring batch needs for a decay verdict",
    )
    decay_p_value: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="the decay check warns when a batch this poor had less than this chance "
        "from the model's expected recall and precision",
    )
    max_unlabelled_readings: int = Field(
        default=1500,
        ge=1,
        description="readings waiting for their status above which the statuses check warns "
        "that statuses have stopped arriving",
    )
