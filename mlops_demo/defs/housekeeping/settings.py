"""Housekeeping's settings: how long Dagster's run history is kept, and how many models keep
their files."""

import dagster as dg
from pydantic import Field


class HousekeepingSettings(dg.ConfigurableResource):
    """How long a finished run's history is kept, and which models keep their files."""

    run_retention_days: int = Field(
        default=90,
        ge=1,
        description="finished runs older than this many days are deleted by "
        "clean_up_dagster_history, except each run that holds an asset's newest "
        "materialization or observation",
    )
    keep_models: int = Field(
        default=20,
        ge=1,
        description="models whose files production_model_candidates keeps, newest first, "
        "besides the champion, every model a rollback can reach and the shadow; the others "
        "lose their model files and keep their entries and cards",
    )
