"""The landing area: raw message bodies made durable before the broker is told to forget them.

A batch is written as `<name>.tmp`, fsync'd, then renamed to `<name>.batch`: a `.batch` file is
always complete. Each line is one body in base64, so any bytes (even invalid UTF-8) survive
until cleaning decides what to do with them. A batch's name ends with its content's digest: a
chunk the broker redelivers after a failed run lands once, not once per retry.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import re
import socket
import time
from pathlib import Path

from mlops_demo.core.common.durable import FILE_MODE, ensure_dir, fsync_dir, write_all

BATCH_SUFFIX = ".batch"
PARTIAL_SUFFIX = ".tmp"
# <time in ns>-<host>-<pid>-<digest of the content>; anything else in the folder is not ours.
_NAME = re.compile(r"^(\d{20})-(.+)-(\d+)-([0-9a-f]{16})$")
# A partial written on another machine (a container sharing the volume, whose pids mean nothing
# here) is abandoned once it is this old; writing one takes well under a second.
ABANDONED_AFTER_SECONDS = 3600
# This machine's name as a batch name holds it: letters, digits and dots.
HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


class LandingArea:
    def __init__(self, directory: Path):
        self.directory = directory
        # The batch this object landed last and its bodies: a drain stores each chunk right
        # after landing it, and decoding the file it has just written would cost as much again.
        self._last_landed: tuple[Path, list[bytes]] | None = None

    def land(self, bodies: list[bytes]) -> Path:
        """Write the bodies as one complete, durable batch and return its path; a batch of the
        same content already landed is returned as it is."""
        ensure_dir(self.directory)
        data = b"".join(map(binascii.b2a_base64, bodies))  # each body's base64 and a newline
        digest = hashlib.sha256(data).hexdigest()[:16]
        for landed in self.batches():
            if landed.stem.endswith(f"-{digest}"):
                self._last_landed = (landed, bodies)
                return landed
        # Time first, so sorted names replay batches in arrival order; host and pid say who
        # writes it.
        name = f"{time.time_ns():020d}-{HOST}-{os.getpid()}-{digest}"
        partial = self.directory / (name + PARTIAL_SUFFIX)
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
        self._last_landed = (batch, bodies)
        return batch

    def batches(self) -> list[Path]:
        """Complete batches, oldest first."""
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*" + BATCH_SUFFIX))

    def read(self, batch: Path) -> list[bytes]:
        """The batch's bodies; the ones just landed come from memory (the file holds the same,
        its name says so by their digest)."""
        if self._landed_last(batch):
            return self._last_landed[1]
        return list(map(binascii.a2b_base64, batch.read_bytes().splitlines()))

    def _landed_last(self, batch: Path) -> bool:
        return self._last_landed is not None and self._last_landed[0] == batch

    def remove(self, batch: Path) -> None:
        if self._landed_last(batch):
            self._last_landed = None
        batch.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def remove_abandoned_partials(self) -> int:
        """Delete half-written batches whose writer died: their messages were never acked."""
        removed = 0
        if not self.directory.exists():
            return removed
        for partial in self.directory.glob("*" + PARTIAL_SUFFIX):
            name = _NAME.match(partial.stem)
            if name is None:  # a stray file (notes.tmp): not a batch, left alone
                continue
            started_ns, host, pid = int(name[1]), name[2], int(name[3])
            if host == HOST:
                abandoned = not _alive(pid)
            else:
                abandoned = time.time_ns() - started_ns > ABANDONED_AFTER_SECONDS * 10**9
            if abandoned:
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
