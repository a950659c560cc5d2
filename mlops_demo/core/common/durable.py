"""Durable file writes: fsync'd appends, atomic replacement and advisory locks."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Store, registry and landing files: the owner writes, other users may only read (a stricter
# umask makes them stricter still; a looser one never makes them writable by others).
FILE_MODE = 0o644
DIR_MODE = 0o755


def ensure_dir(path: Path) -> None:
    """Create the folder and its missing parents, each made durable in its own parent."""
    # mkdir(parents=True) would give the parents the umask's mode, not ours: create each level.
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            fsync_dir(folder.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or an unlink in the folder survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte and fsync: one os.write may write only part of a large buffer."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def append_durably(path: Path, data: bytes) -> None:
    """Append and fsync; a crash may leave a torn tail, which `repair_tail` removes."""
    if not data:
        return
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    if created:
        # The new file's name lives in its folder: a power loss could lose it without this.
        fsync_dir(path.parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file's content all at once: readers see the old file or the new, never half."""
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        write_all(fd, data)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk must not stay full of our half-written file
        raise
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def repair_tail(path: Path) -> int:
    """Cut a torn last line left by a crash mid-append; returns the bytes removed.

    Call it only while holding the file's lock: a torn line is one nobody is still writing.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # Walk back to the last complete line.
        position = size
        chunk = 64 * 1024
        keep = 0
        while position > 0:
            start = max(0, position - chunk)
            f.seek(start)
            block = f.read(position - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            position = start
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `<path>.lock` (released by the kernel if we die)."""
    ensure_dir(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def file_size(path: Path) -> int:
    """The file's size in bytes; 0 if it does not exist yet."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def complete_lines(data: bytes) -> bytes:
    """The data up to its last newline: a reader's view that ignores a torn tail."""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""
