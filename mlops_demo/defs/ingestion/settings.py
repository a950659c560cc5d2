"""Ingestion's thresholds: the batch a sensor waits for, the quarantine share the stores' check
allows, and the drift check's window and error rate."""

import dagster as dg
from pydantic import Field


class IngestionSettings(dg.ConfigurableResource):
    """When an ingestion run starts, and what its checks allow."""

    min_batch: int = Field(
        default=500, ge=1, description="messages that make a sensor launch an ingestion run"
    )
    max_quarantine_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="the share of a run's messages quarantined above which the stores' check warns",
    )
    drift_window: int = Field(
        default=500,
        ge=1,
        description="the newest readings the drift check compares with the training readings",
    )
    drift_min_readings: int = Field(
        default=100, ge=1, description="fewer readings on either side: no drift verdict"
    )
    drift_p_value: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="the chance that the drift check warns on a clean batch: its tests' "
        "family-wise error rate, held by Holm's correction",
    )
