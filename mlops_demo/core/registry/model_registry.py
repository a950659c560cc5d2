"""The model registry: model files, their SHA-256, metrics and model cards, in trained-models/ or,
with the PostgreSQL store, in the same database (`core/registry/storage.py`).

Only a registered model whose bytes, read once, still hash to the recorded SHA-256 is ever
unpickled: a pickle runs code when loaded, so a planted or altered file must be refused before
joblib sees it. The registry document (every entry with its hash, and the deployment history) is
signed (`core/registry/signing.py`), so whoever can write trained-models/ or the registry's
tables cannot rewrite an entry's hash to match a pickle of their own. Scoring reads a trained
forest's arrays instead (`core/model/array_forest.py`), under their own SHA-256 in the same
signed entry.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import platform
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import PurePosixPath

from mlops_demo.core.common.locations import MODELS_DIR
from mlops_demo.core.model.spec import TrainingSummary
from mlops_demo.core.registry.card import model_card
from mlops_demo.core.registry.entries import (
    ARRAYS_SUFFIX,
    CANDIDATE,
    DEPLOYED,
    NOT_ENOUGH_EVIDENCE,
    PREVIOUS,
    REJECTED,
    RETIRED,
    TRAINED,
    Deployment,
    GateResult,
    ModelEntry,
    RegistryError,
)
from mlops_demo.core.registry.signing import signature
from mlops_demo.core.registry.storage import RegistryStorage

# 5: each entry says the oldest UDI its model trained on (trained_from_udi).
REGISTRY_FORMAT = 5
LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib", "dagster")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for library in LIBRARIES:
        versions[library] = metadata.version(library)
    return versions


def _deployed_stack(history: list[Deployment]) -> list[str]:
    """The models deployed one over the other, the champion last; a rollback pops one."""
    stack: list[str] = []
    for deployment in history:
        if deployment.rollback:
            stack.pop()
        elif not stack or stack[-1] != deployment.model:
            stack.append(deployment.model)
    return stack


class ModelRegistry:
    def __init__(self, storage: RegistryStorage, key: bytes):
        """The registry in `storage`, which the backend chooses (`core/backends.py`), signed
        with `key`."""
        self.storage = storage
        self._key = key

    # Reading -----------------------------------------------------------------------------

    def _read(self) -> tuple[list[ModelEntry], list[Deployment]]:
        raw = self.storage.read_document()
        if raw is None:
            return [], []
        try:
            document = json.loads(raw)
            found = document.get("format") if isinstance(document, dict) else None
            if found != REGISTRY_FORMAT:
                raise ValueError(f"format {found}, expected {REGISTRY_FORMAT}")
            signed = signature(self._key, document["models"], document["deployments"])
            models = [ModelEntry.from_dict(entry) for entry in document["models"]]
            history = [Deployment(**deployment) for deployment in document["deployments"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(
                f"{self.storage.where} cannot be read ({type(exc).__name__}: {exc}); it was left "
                "by another version or damaged. Move it aside to start a new registry; the model "
                "files stay."
            ) from None
        if not hmac.compare_digest(signed, str(document.get("signature"))):
            raise RegistryError(
                f"{self.storage.where} is not signed with this deployment's registry key: it was "
                "changed outside mlops_demo, or written under another key (MLOPS_REGISTRY_KEY or "
                "MLOPS_REGISTRY_KEY_FILE), so no model in it is loaded. Restore it, or move it "
                "aside to start a new registry."
            )
        return models, history

    def entries(self) -> list[ModelEntry]:
        """Every registered model, oldest first."""
        return self._read()[0]

    def history(self) -> list[Deployment]:
        """Every deployment, rollbacks and forced ones included, oldest first."""
        return self._read()[1]

    def champion(self) -> ModelEntry | None:
        """The model deployed now."""
        models, history = self._read()
        stack = _deployed_stack(history)
        return next((entry for entry in models if stack and entry.name == stack[-1]), None)

    def shadow(self) -> ModelEntry | None:
        """The model that scores beside the champion: the newest one the gate has not turned
        down and nobody has deployed (a candidate, or one waiting for evidence)."""
        statuses = self.statuses()
        waiting = [
            e for e in self.entries() if e.decided and statuses[e.name] in (CANDIDATE, TRAINED)
        ]
        return waiting[-1] if waiting else None

    def record_live_gate(self, name: str, gate: GateResult) -> str:
        """Replace a model's gate with one decided on live evidence; returns its new status."""
        with self.storage.locked():
            models, history = self._read()
            models = [replace(e, gate=gate, decided=True) if e.name == name else e for e in models]
            self._write(models, history)
        return self.statuses()[name]

    def deployed_name(self) -> str | None:
        champion = self.champion()
        return champion.name if champion else None

    def statuses(self) -> dict[str, str]:
        """Each model's status: trained, candidate, rejected, deployed or retired."""
        models, history = self._read()
        stack = _deployed_stack(history)
        ever_deployed = {deployment.model for deployment in history}
        statuses = {}
        for entry in models:
            if stack and entry.name == stack[-1]:
                statuses[entry.name] = DEPLOYED
            elif entry.name in ever_deployed:
                statuses[entry.name] = RETIRED
            elif not entry.decided or entry.gate.outcome == NOT_ENOUGH_EVIDENCE:
                statuses[entry.name] = TRAINED
            else:
                statuses[entry.name] = CANDIDATE if entry.gate.passed else REJECTED
        return statuses

    def _write(self, models: list[ModelEntry], history: list[Deployment]) -> None:
        entries = [asdict(entry) for entry in models]
        deployments = [asdict(deployment) for deployment in history]
        document = {
            "format": REGISTRY_FORMAT,
            "models": entries,
            "deployments": deployments,
            "signature": signature(self._key, entries, deployments),
        }
        self.storage.write_document(json.dumps(document, indent=2).encode() + b"\n")

    # Writing -----------------------------------------------------------------------------

    def register(
        self,
        model: object,
        summary: TrainingSummary,
        gate: GateResult,
        pictures: Mapping[str, tuple[bytes, str]] | None = None,
    ) -> ModelEntry:
        """Save the model and its card atomically, then record it; returns its entry. Each of
        `pictures` (a name: PNG bytes and caption) is saved beside the card, which shows it."""
        # joblib (and the numpy and process pool it brings) only where models are saved or
        # loaded: every run imports the registry, most of them to read an entry.
        import joblib

        from mlops_demo.core.model.array_forest import arrays_of

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        data, arrays = buffer.getvalue(), arrays_of(model)
        with self.storage.locked():
            now = datetime.now(UTC)
            stem = "model-" + now.strftime("%Y%m%dT%H%M%S.%fZ")
            self.storage.write_file(f"{stem}.pickle", data)
            if arrays is not None:
                self.storage.write_file(f"{stem}{ARRAYS_SUFFIX}", arrays)
            entry = ModelEntry(
                **asdict(summary),
                name=f"{MODELS_DIR}/{stem}.pickle",
                sha256=hashlib.sha256(data).hexdigest(),
                created_at=now.isoformat(timespec="seconds"),
                versions=library_versions(),
                gate=gate,
                arrays_sha256=hashlib.sha256(arrays).hexdigest() if arrays is not None else None,
            )
            shown = []
            for picture_name, (image, caption) in (pictures or {}).items():
                self.storage.write_file(f"{stem}.{picture_name}.png", image)
                shown.append((f"{stem}.{picture_name}.png", caption))
            self.storage.write_file(f"{stem}.md", model_card(entry, shown).encode())
            models, history = self._read()
            self._write([*models, entry], history)
        return entry

    def decide(self, name: str) -> str:
        """Apply a trained model's gate: it becomes a candidate or is rejected; returns which."""
        with self.storage.locked():
            models, history = self._read()
            if name not in {entry.name for entry in models}:
                raise RegistryError(f"{name!r} is not a registered model. {self._choices(models)}")
            models = [replace(e, decided=True) if e.name == name else e for e in models]
            self._write(models, history)
        return self.statuses()[name]

    def deploy(
        self, requested: str, force: bool = False, automatic: bool = False
    ) -> tuple[ModelEntry, Deployment]:
        """Make a candidate (or with force, any registered model) the champion, after its file
        matched its SHA-256; `previous` rolls back to the model deployed before the current one.
        `automatic` records that the gate's promotion deployed it, not a person."""
        with self.storage.locked():
            models, history = self._read()
            stack = _deployed_stack(history)
            rollback = requested.strip() == PREVIOUS
            if rollback:
                if len(stack) < 2:
                    raise RegistryError(
                        "there is no earlier deployment to roll back to "
                        f"(deployed so far: {', '.join(stack) or 'none'})"
                    )
                requested = stack[-2]
            entry = self.verify(requested)
            status = self.statuses()[entry.name]
            if status in (TRAINED, REJECTED) and not (force or rollback):
                raise RegistryError(_refusal(entry, status))
            deployment = Deployment(
                deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
                model=entry.name,
                previous=stack[-1] if stack else None,
                forced=force and status in (TRAINED, REJECTED),
                rollback=rollback,
                automatic=automatic,
            )
            self._write(models, [*history, deployment])
        return entry, deployment

    def remove_old_files(self, keep_newest: int) -> list[str]:
        """Remove the model and array files of every model but the newest `keep_newest`, the
        champion, the models a rollback can reach and the shadow; their entries, cards and
        pictures stay. Returns the models whose files went. The entries are marked first, so a
        crash in between leaves a file too many, never an entry without its file."""
        with self.storage.locked():
            models, history = self._read()
            shadow = self.shadow()
            kept = {entry.name for entry in models[-keep_newest:]} | set(_deployed_stack(history))
            kept |= {shadow.name} if shadow else set()
            going = [e for e in models if e.name not in kept and not e.files_removed]
            if not going:
                return []
            names = {entry.name for entry in going}
            self._write(
                [replace(e, files_removed=True) if e.name in names else e for e in models], history
            )
            for entry in going:
                self.storage.remove_file(entry.file_name)
                self.storage.remove_file(entry.arrays_file_name)
        return [entry.name for entry in going]

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

    def _verified_bytes(self, entry: ModelEntry, file_name: str, sha256: str) -> bytes:
        if entry.files_removed:
            raise RegistryError(
                f"{entry.name}'s files were removed by the registry's retention, which keeps the "
                "newest MLOPS_KEEP_MODELS models, the champion and every model a rollback can "
                f"reach; its card ({PurePosixPath(entry.file_name).stem}.md) stays."
            )
        try:
            data = self.storage.read_file(file_name)
        except FileNotFoundError:
            raise RegistryError(
                f"{entry.name} is registered but its file is missing ({file_name})."
            ) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise RegistryError(
                f"{entry.name} does not match its registered SHA-256 ({file_name}: expected "
                f"{sha256[:12]}…, found {actual[:12]}…): the file was altered or truncated, "
                "so it is not loaded."
            )
        return data

    def verify(self, requested: str) -> ModelEntry:
        """The entry of a registered model whose files match their SHA-256, without loading them."""
        entry = self.resolve(requested)
        self._verified_bytes(entry, entry.file_name, entry.sha256)
        if entry.arrays_sha256 is not None:
            self._verified_bytes(entry, entry.arrays_file_name, entry.arrays_sha256)
        return entry

    def _resolve_deployed(self, requested: str, expected_sha256: str | None) -> ModelEntry:
        entry = self.resolve(requested)
        if expected_sha256 is not None and entry.sha256 != expected_sha256:
            raise RegistryError(
                f"{entry.name} now has the SHA-256 {entry.sha256[:12]}…, not the "
                f"{expected_sha256[:12]}… it had when it was deployed, so it is not loaded: "
                "deploy it again if the change is yours."
            )
        return entry

    def load_scorer(
        self, requested: str, expected_sha256: str | None = None
    ) -> tuple[object, ModelEntry]:
        """What scores a morning's readings: the model's arrays (`ArrayForest`), checked against
        their SHA-256, which load without scikit-learn; the pickle for a model without them.
        `expected_sha256` as for `load`. The arrays walk every tree in numpy, as fast as the
        pickle on hundreds of readings and several times slower on tens of thousands, so the
        steps that score whole test sets use `load`."""
        entry = self._resolve_deployed(requested, expected_sha256)
        if entry.arrays_sha256 is None:
            return self._unpickled(entry), entry
        from mlops_demo.core.model.array_forest import ArrayForest, ArrayFormatError

        data = self._verified_bytes(entry, entry.arrays_file_name, entry.arrays_sha256)
        try:
            return ArrayForest(data), entry
        except ArrayFormatError as exc:
            raise RegistryError(
                f"{entry.name}'s arrays were saved by another version of mlops_demo ({exc}); "
                "train a new model."
            ) from None

    def load(self, requested: str, expected_sha256: str | None = None) -> tuple[object, ModelEntry]:
        """Unpickle a registered model from bytes read once and checked against its SHA-256 (and
        against `expected_sha256`, the hash recorded when it was deployed, when given)."""
        entry = self._resolve_deployed(requested, expected_sha256)
        return self._unpickled(entry), entry

    def _unpickled(self, entry: ModelEntry) -> object:
        data = self._verified_bytes(entry, entry.file_name, entry.sha256)
        import joblib

        try:
            return joblib.load(io.BytesIO(data))
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


def _refusal(entry: ModelEntry, status: str) -> str:
    if status == REJECTED:
        why = f"it was rejected: {entry.gate.reason}"
    else:
        why = (
            "it has not passed the gate yet (a blocking check of trained_model failed, or "
            "production_model_candidates has not run since it was trained)"
        )
    return (
        f"{entry.name} is not a candidate: {why}. To deploy it all the same, add `force: true` "
        "to deployed_model's config."
    )
