"""The landing area: raw message bodies made durable before the broker is told to forget them.

A batch is written as `<name>.tmp`, fsync'd, then renamed to `<name>.batch`: a `.batch` file is
always complete. Each line is one body in base64, so any bytes (even invalid UTF-8) survive
until cleaning decides what to do with them.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from pathlib import Path

from mlops_demo.core.durable import FILE_MODE, ensure_dir, fsync_dir, write_all

BATCH_SUFFIX = ".batch"
PARTIAL_SUFFIX = ".tmp"


class LandingArea:
    def __init__(self, directory: Path):
        self.directory = directory

    def land(self, bodies: list[bytes]) -> Path:
        """Write the bodies as one complete, durable batch and return its path."""
        ensure_dir(self.directory)
        # Time first, so sorted names replay batches in arrival order; the pid marks who writes it.
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / (name + PARTIAL_SUFFIX)
        data = b"".join(base64.b64encode(body) + b"\n" for body in bodies)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            write_all(fd, data)
        except OSError:
            partial.unlink(missing_ok=True)  # a full disk, say: nothing was landed, nothing acked
            raise
        finally:
            os.close(fd)
        batch = partial.with_suffix(BATCH_SUFFIX)
        os.replace(partial, batch)
        fsync_dir(self.directory)
        return batch

    def batches(self) -> list[Path]:
        """Complete batches, oldest first."""
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*" + BATCH_SUFFIX))

    @staticmethod
    def read(batch: Path) -> list[bytes]:
        return [base64.b64decode(line) for line in batch.read_bytes().splitlines()]

    def remove(self, batch: Path) -> None:
        batch.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def remove_abandoned_partials(self) -> int:
        """Delete half-written batches whose writer died: their messages were never acked."""
        removed = 0
        if not self.directory.exists():
            return removed
        for partial in self.directory.glob("*" + PARTIAL_SUFFIX):
            writer_pid = int(partial.name.split("-")[1])
            if not _alive(writer_pid):
                partial.unlink(missing_ok=True)
                removed += 1
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
