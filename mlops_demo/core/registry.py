"""The model registry: model files in trained-models/, their SHA-256, metrics and model cards.

Only a model listed in registry.json, inside the folder, whose file still hashes to the recorded
SHA-256 is ever unpickled: a pickle runs code when loaded, so a planted or altered file must be
refused before joblib sees it.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

import joblib

from mlops_demo.core.durable import ensure_dir, locked, write_atomically
from mlops_demo.core.model_card import model_card
from mlops_demo.core.modelling import TrainingSummary
from mlops_demo.core.settings import MODELS_DIR, REGISTRY_FILE

REGISTRY_FORMAT = 2
LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib", "dagster")


class RegistryError(ValueError):
    """A model cannot be registered or loaded; the text names the problem and the valid choices."""


@dataclass(frozen=True)
class ModelEntry(TrainingSummary):
    name: str  # what a user types in the Launchpad: trained-models/model-<UTC timestamp>.pickle
    sha256: str
    created_at: str
    versions: dict[str, str]

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.name).name


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for library in LIBRARIES:
        versions[library] = metadata.version(library)
    return versions


class ModelRegistry:
    def __init__(self, data_dir: Path):
        self.directory = data_dir / MODELS_DIR
        self.path = self.directory / REGISTRY_FILE

    # Reading -----------------------------------------------------------------------------

    def _read(self) -> dict:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {"models": [], "deployed": None}
        try:
            document = json.loads(raw)
            found = document.get("format") if isinstance(document, dict) else None
            if found != REGISTRY_FORMAT:
                raise ValueError(f"format {found}, expected {REGISTRY_FORMAT}")
            models = [ModelEntry(**entry) for entry in document["models"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(
                f"{self.path} cannot be read ({type(exc).__name__}: {exc}); it was left by another "
                "version or damaged. Move it aside to start a new registry; the model files stay."
            ) from None
        return {"models": models, "deployed": document.get("deployed")}

    def entries(self) -> list[ModelEntry]:
        """Every registered model, oldest first."""
        return self._read()["models"]

    def deployed_name(self) -> str | None:
        return self._read()["deployed"]

    def _write(self, models: list[ModelEntry], deployed: str | None) -> None:
        document = {
            "format": REGISTRY_FORMAT,
            "deployed": deployed,
            "models": [asdict(entry) for entry in models],
        }
        write_atomically(self.path, json.dumps(document, indent=2).encode() + b"\n")

    # Writing -----------------------------------------------------------------------------

    def register(self, model: object, summary: TrainingSummary) -> ModelEntry:
        """Save the model and its card atomically, then record it; returns its entry."""
        ensure_dir(self.directory)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        data = buffer.getvalue()
        with locked(self.path):
            now = datetime.now(UTC)
            stem = "model-" + now.strftime("%Y%m%dT%H%M%S.%fZ")
            model_path = self.directory / f"{stem}.pickle"
            write_atomically(model_path, data)
            entry = ModelEntry(
                **asdict(summary),
                name=f"{MODELS_DIR}/{model_path.name}",
                sha256=hashlib.sha256(data).hexdigest(),
                created_at=now.isoformat(timespec="seconds"),
                versions=library_versions(),
            )
            write_atomically(self.directory / f"{stem}.md", model_card(entry).encode())
            state = self._read()
            self._write([*state["models"], entry], state["deployed"])
        return entry

    def mark_deployed(self, entry: ModelEntry) -> None:
        with locked(self.path):
            self._write(self.entries(), entry.name)

    # Loading -----------------------------------------------------------------------------

    def resolve(self, requested: str) -> ModelEntry:
        """The registry entry a Launchpad `model_name` names, by full name or bare file name."""
        entries = self.entries()
        requested = requested.strip()
        candidate = PurePosixPath(requested)
        if candidate.is_absolute() or ".." in candidate.parts:
            raise RegistryError(
                f"{requested!r} points outside {MODELS_DIR}/; only registered models can be "
                f"deployed. {self._choices(entries)}"
            )
        for entry in entries:
            if requested in (entry.name, entry.file_name):
                return entry
        raise RegistryError(f"{requested!r} is not a registered model. {self._choices(entries)}")

    def _verified_bytes(self, requested: str) -> tuple[bytes, ModelEntry]:
        entry = self.resolve(requested)
        try:
            data = (self.directory / entry.file_name).read_bytes()
        except FileNotFoundError:
            raise RegistryError(f"{entry.name} is registered but its file is missing.") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.sha256:
            raise RegistryError(
                f"{entry.name} does not match its registered SHA-256 (expected "
                f"{entry.sha256[:12]}…, found {actual[:12]}…): the file was altered or truncated, "
                "so it is not loaded."
            )
        return data, entry

    def verify(self, requested: str) -> ModelEntry:
        """The entry of a registered model whose file matches its SHA-256, without unpickling it."""
        return self._verified_bytes(requested)[1]

    def load(self, requested: str) -> tuple[object, ModelEntry]:
        """Unpickle a registered model from bytes read once and checked against its SHA-256."""
        data, entry = self._verified_bytes(requested)
        try:
            return joblib.load(io.BytesIO(data)), entry
        except (AttributeError, ImportError, ValueError) as exc:
            raise RegistryError(
                f"{entry.name} was saved by another version of mlops_demo or its libraries "
                f"({type(exc).__name__}: {exc}); train a new model."
            ) from None

    @staticmethod
    def _choices(entries: list[ModelEntry]) -> str:
        if not entries:
            return "No model is registered yet: run the train_ml_model job first."
        return "Valid candidates: " + ", ".join(entry.name for entry in entries)
