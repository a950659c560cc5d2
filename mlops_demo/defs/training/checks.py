"""trained_model's check: the new model's F1 on the held-out window meets the floor."""

import dagster as dg

from mlops_demo.core.registry.entries import ModelEntry
from mlops_demo.defs.training.settings import GateSettings


@dg.asset_check(asset="trained_model", blocking=True)
def trained_model_f1_meets_floor(
    trained_model: ModelEntry, gate_settings: GateSettings
) -> dg.AssetCheckResult:
    """The new model's F1 on the held-out window is at least MLOPS_MIN_F1; a model below it
    never becomes a candidate by itself."""
    floor = gate_settings.min_f1
    f1 = trained_model.gate.f1
    return dg.AssetCheckResult(
        passed=f1 is not None and f1 >= floor,
        metadata={
            "model_name": trained_model.name,
            "observed_window_f1": f1 if f1 is not None else float("nan"),
            "expected_at_least": floor,
            "window_rows": trained_model.gate.window_rows,
        },
    )
