"""Housekeeping's setting: how long Dagster's run history is kept."""

import dagster as dg
from pydantic import Field


class HousekeepingSettings(dg.ConfigurableResource):
    """How long a finished run's history is kept."""

    run_retention_days: int = Field(
        default=90,
        ge=1,
        description="finished runs older than this many days are deleted by "
        "clean_up_dagster_history, except each run that holds an asset's newest "
        "materialization or observation",
    )
