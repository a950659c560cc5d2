"""What the registry records: a model's entry (its training summary, hash and gate), each
deployment, and the statuses a model passes through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from mlops_demo.core.model.spec import TrainingSummary

ARRAYS_SUFFIX = ".arrays.npz"


class RegistryError(ValueError):
    """A model cannot be registered or loaded; the text names the problem and the valid choices."""


# A model's way through: trained (registered, its gate decided but not yet applied: the
# candidates step runs only once the model's blocking checks pass) -> candidate or rejected ->
# deployed -> retired once another model is deployed; a rollback deploys the one before.
TRAINED, CANDIDATE, REJECTED, DEPLOYED, RETIRED = (
    "trained",
    "candidate",
    "rejected",
    "deployed",
    "retired",
)
# What a user types as model_name to go back to the model deployed before the current one.
PREVIOUS = "previous"


PROMOTE, REJECT, NOT_ENOUGH_EVIDENCE = "promote", "reject", "not enough evidence yet"


@dataclass(frozen=True)
class GateResult:
    """How a new model did against the champion on the window that neither trained on."""

    window_first_udi: int | None
    window_last_udi: int | None
    window_rows: int
    f1: float | None
    champion: str | None
    champion_f1: float | None
    margin: float
    passed: bool
    reason: str
    outcome: str = ""  # PROMOTE, REJECT or NOT_ENOUGH_EVIDENCE (core/registry/gate.py)
    failures: int | None = None  # in the window
    f1_difference_low: float | None = None  # the paired 95 % interval of new minus champion
    f1_difference_high: float | None = None
    more_failures_needed: int | None = None


@dataclass(frozen=True)
class ModelEntry(TrainingSummary):
    name: str  # what a user types in the Launchpad: trained-models/model-<UTC timestamp>.pickle
    sha256: str
    created_at: str
    versions: dict[str, str]
    gate: GateResult
    # Whether the candidates step applied the gate; until then the model is only "trained".
    decided: bool = False
    # The forest as arrays beside the pickle (core/model/array_forest.py), which scoring reads
    # instead; None for a model of another kind, which scores by its pickle.
    arrays_sha256: str | None = None
    # The registry's retention removed the model's files; its entry and card stay.
    files_removed: bool = False

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.name).name

    @property
    def arrays_file_name(self) -> str:
        return PurePosixPath(self.name).stem + ARRAYS_SUFFIX

    @classmethod
    def from_dict(cls, values: dict) -> ModelEntry:
        return cls(**{**values, "gate": GateResult(**values["gate"])})


@dataclass(frozen=True)
class Deployment:
    deployed_at: str
    model: str
    previous: str | None
    forced: bool
    rollback: bool
    automatic: bool = False  # by the gate's promotion (MLOPS_AUTO_DEPLOY), not by a person
