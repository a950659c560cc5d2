"""Registry entries for tests that need no real training: a summary, a gate, a registration."""

from mlops_demo.core.model.spec import TrainingSummary
from mlops_demo.core.registry.entries import GateResult, ModelEntry
from mlops_demo.core.registry.model_registry import ModelRegistry

# A registry key for tests that open a registry directly (the resource's comes from the env).
TEST_KEY = b"a key of the tests' own"


def summary(f1: float = 0.5) -> TrainingSummary:
    return TrainingSummary(
        metrics={"f1": f1, "precision": 0.6},
        confusion_matrix=[[90, 2], [3, 5]],
        hyperparameters={"n_estimators": 10},
        training_rows=70,
        test_rows=30,
        training_seconds=0.1,
        features=["Torque [Nm]"],
        trained_through_udi=70,
        trained_from_udi=1,
        signature={"Torque [Nm]": {"kind": "number", "min": 3.0, "max": 77.0}},
        evaluation={},
        calibrated_on="the newest 18 training rows",
    )


def gate(passed: bool = True, f1: float = 0.5) -> GateResult:
    return GateResult(
        window_first_udi=71,
        window_last_udi=100,
        window_rows=30,
        f1=f1,
        champion=None,
        champion_f1=None,
        margin=0.0,
        passed=passed,
        reason="no model is deployed yet" if passed else "F1 0.1 does not beat 0.5",
    )


def register(
    registry: ModelRegistry, model: object = None, f1: float = 0.5, passed: bool = True
) -> ModelEntry:
    """Register a model whose gate is decided: a candidate, or rejected when not `passed`."""
    entry = registry.register(
        model if model is not None else {"weights": [1, 2, 3]}, summary(f1), gate(passed, f1)
    )
    registry.decide(entry.name)
    return registry.resolve(entry.name)


def replace_model_bytes(registry: ModelRegistry, entry: ModelEntry, data: bytes) -> None:
    """Overwrite a registered model's stored bytes, wherever the registry keeps them, as an
    attacker or a bad disk would."""
    registry.storage.write_file(entry.file_name, data)


def model_bytes(registry: ModelRegistry, entry: ModelEntry) -> bytes:
    return registry.storage.read_file(entry.file_name)
