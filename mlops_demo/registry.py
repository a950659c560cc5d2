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

from mlops_demo.durable import ensure_dir, locked, write_atomically
from mlops_demo.settings import MODELS_DIR, REGISTRY_FILE

REGISTRY_FORMAT = 1
LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib", "dagster")


class RegistryError(ValueError):
    """A model cannot be registered or loaded; the text names the problem and the valid choices."""


@dataclass(frozen=True)
class ModelEntry:
    name: str  # what a user types in the Launchpad: trained-models/model-<UTC timestamp>.pickle
    sha256: str
    created_at: str
    metrics: dict[str, float]
    confusion_matrix: list[list[int]]
    hyperparameters: dict[str, float]
    training_rows: int
    test_rows: int
    features: list[str]
    versions: dict[str, str]

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.name).name


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for library in LIBRARIES:
        versions[library] = metadata.version(library)
    return versions


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelRegistry:
    def __init__(self, data_dir: Path):
        self.directory = data_dir / MODELS_DIR
        self.path = self.directory / REGISTRY_FILE

    # Reading -----------------------------------------------------------------------------

    def _read(self) -> dict:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {"format": REGISTRY_FORMAT, "models": [], "deployed": None}
        try:
            document = json.loads(raw)
            models = [ModelEntry(**entry) for entry in document["models"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(
                f"{self.path} cannot be read ({type(exc).__name__}: {exc}); it was left by another "
                "version or damaged. Move it aside to start a new registry; the model files stay."
            ) from None
        return {
            "format": document.get("format"),
            "models": models,
            "deployed": document.get("deployed"),
        }

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

    def register(
        self,
        model: object,
        *,
        metrics: dict[str, float],
        confusion_matrix: list[list[int]],
        hyperparameters: dict[str, float],
        training_rows: int,
        test_rows: int,
        features: list[str],
    ) -> ModelEntry:
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
                name=f"{MODELS_DIR}/{model_path.name}",
                sha256=hashlib.sha256(data).hexdigest(),
                created_at=now.isoformat(timespec="seconds"),
                metrics=metrics,
                confusion_matrix=confusion_matrix,
                hyperparameters=hyperparameters,
                training_rows=training_rows,
                test_rows=test_rows,
                features=features,
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

    def load(self, requested: str) -> tuple[object, ModelEntry]:
        """Unpickle a registered model, only after its file matches the recorded SHA-256."""
        entry = self.resolve(requested)
        path = self.directory / entry.file_name
        if not path.is_file():
            raise RegistryError(f"{entry.name} is registered but its file is missing.")
        actual = _sha256(path)
        if actual != entry.sha256:
            raise RegistryError(
                f"{entry.name} does not match its registered SHA-256 (expected "
                f"{entry.sha256[:12]}…, found {actual[:12]}…): the file was altered or truncated, "
                "so it is not loaded."
            )
        return joblib.load(path), entry

    @staticmethod
    def _choices(entries: list[ModelEntry]) -> str:
        if not entries:
            return "No model is registered yet: run the train_ml_model job first."
        return "Valid candidates: " + ", ".join(entry.name for entry in entries)


def model_card(entry: ModelEntry) -> str:
    metrics = "\n".join(f"| {k} | {v:.4f} |" for k, v in entry.metrics.items())
    params = "\n".join(f"| {k} | {v} |" for k, v in entry.hyperparameters.items())
    versions = "\n".join(f"| {k} | {v} |" for k, v in entry.versions.items())
    (tn, fp), (fn, tp) = entry.confusion_matrix
    return f"""# {entry.name}

Created {entry.created_at}. SHA-256 `{entry.sha256}`.

## Data
Readings joined with their daily statuses on UDI, split in time order:
{entry.training_rows} rows for training, {entry.test_rows} for the test scores below.

## Features
Raw reading columns in: {", ".join(entry.features)}.
Derived inside the pipeline: process minus air temperature, mechanical power (torque × speed in
rad/s), tool wear × torque, and the product type.

## Test scores (failure class)
| metric | value |
| --- | --- |
{metrics}

## Confusion matrix
| | predicted healthy | predicted failure |
| --- | --- | --- |
| healthy | {tn} | {fp} |
| failed | {fn} | {tp} |

## Hyperparameters
| name | value |
| --- | --- |
{params}

## Library versions
| library | version |
| --- | --- |
{versions}
"""
