"""devices_at_risk's checks, evaluated inside its step on exactly what it scored."""

from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.core.messages.records import UDI
from mlops_demo.defs.inference.settings import InferenceSettings

if TYPE_CHECKING:
    import pandas as pd


SCORED_ONLY_UNKNOWN = dg.AssetCheckSpec(
    "devices_at_risk_scored_only_unknown_readings",
    asset="devices_at_risk",
    description="Every scored reading had no status yet, and every probability is in [0, 1].",
)


def scored_only_unknown_readings(
    scored: "pd.DataFrame", statuses: "pd.DataFrame"
) -> dg.AssetCheckResult:
    known = sorted(set(scored[UDI]) & set(statuses[UDI]))
    probabilities = scored["failure_probability"]
    outside = int(((probabilities < 0) | (probabilities > 1)).sum())
    return dg.AssetCheckResult(
        check_name=SCORED_ONLY_UNKNOWN.name,
        passed=not known and outside == 0,
        metadata={
            "scored": len(scored),
            "scored_with_a_status": dg.MetadataValue.json([int(u) for u in known[:20]]),
            "probabilities_outside_0_1": outside,
        },
    )


REFUSED_SHARE_BELOW_LIMIT = dg.AssetCheckSpec(
    "devices_at_risk_refused_share_below_limit",
    asset="devices_at_risk",
    description="The deployed model refused at most MLOPS_MAX_REFUSED_SHARE of the readings it "
    "was given: more means its trained domain no longer covers the plant, and it should be "
    "retrained on newer readings.",
)


def refused_share_below_limit(
    unknown: int, refused: int, settings: InferenceSettings
) -> dg.AssetCheckResult:
    share = refused / unknown if unknown else 0.0
    return dg.AssetCheckResult(
        check_name=REFUSED_SHARE_BELOW_LIMIT.name,
        passed=share <= settings.max_refused_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "observed_share": share,
            "expected_at_most": settings.max_refused_share,
            "num_unknown": unknown,
            "num_refused": refused,
        },
    )
