"""The IO manager for what assets hand on: frames as JSON tables, records as JSON documents.

Dagster's default IO manager pickles every output into the Dagster home, and unpickling runs
whatever code the file names. Nothing here can: a frame is a JSON document of its columns
(`core/storage/frames.py`), a record (a model's registry entry) a JSON object of its fields, and
anything else is refused when it is written, so no pickle is ever read back.
"""

import json
from dataclasses import asdict
from pathlib import Path

import dagster as dg

from mlops_demo.core.common.durable import write_atomically
from mlops_demo.core.registry.entries import ModelEntry
from mlops_demo.core.storage.frames import frame_bytes, frame_of

FRAME_SUFFIX = ".frame.json"
RECORD_SUFFIX = ".entry.json"


class UnreadableOutput(ValueError):
    """A stored output is not what this project wrote; the text says which and what to do."""


class SafeIOManager(dg.ConfigurableIOManager):
    """Frames and registry entries as JSON files, in the Dagster home's storage folder unless
    `base_dir` names another."""

    base_dir: str | None = None

    def _path(self, context: dg.OutputContext | dg.InputContext, suffix: str) -> Path:
        storage = Path(self.base_dir or context.step_context.instance.storage_directory())
        return storage.joinpath(*context.asset_key.path).with_suffix(suffix)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        if isinstance(obj, ModelEntry):
            write_atomically(self._path(context, RECORD_SUFFIX), json.dumps(asdict(obj)).encode())
            return
        # pandas only where a frame is handed on: every run imports this module.
        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            write_atomically(self._path(context, FRAME_SUFFIX), frame_bytes(obj))
        else:
            raise TypeError(
                f"{context.asset_key.to_user_string()} returned a {type(obj).__name__}; this "
                "project hands on only DataFrames and registry records, never pickles"
            )

    def load_input(self, context: dg.InputContext) -> object:
        upstream = context.asset_key.to_user_string()
        frame, record = self._path(context, FRAME_SUFFIX), self._path(context, RECORD_SUFFIX)
        try:
            if frame.exists():
                return frame_of(frame.read_bytes())
            return ModelEntry.from_dict(json.loads(record.read_text()))
        except FileNotFoundError:
            raise UnreadableOutput(
                f"{upstream} has no stored output in {frame.parent}: materialize it first"
            ) from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise UnreadableOutput(
                f"the stored output of {upstream} is not one this project wrote "
                f"({type(exc).__name__}: {exc}); it was not loaded: materialize {upstream} again"
            ) from None
