"""Scoring's settings: the crew's capacity and the refused share its check allows."""

import dagster as dg
from pydantic import Field


class InferenceSettings(dg.ConfigurableResource):
    """How many machines a crew visits, and how many refusals are too many."""

    crew_capacity: int | None = Field(
        default=None,
        ge=1,
        description="machines a crew can visit per scoring: devices_at_risk marks at most this "
        "many, the riskiest; unset, every machine over the model's threshold",
    )
    max_refused_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="the share of a scoring's readings refused above which devices_at_risk's "
        "check warns",
    )
