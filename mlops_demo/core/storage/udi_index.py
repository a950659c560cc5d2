"""Where each record of a JSONL store lies, by UDI, so that reading a few hundred records never
reads a store of millions.

The index is a file beside the store (`<store>.udis`): one fixed-size entry per line (its UDI,
and the offsets of its first byte and of its newline), in the store's order. Only an ingestion
writes it, under the store's lock and after the lines it covers are durable, so it never points
past what the store holds. It is a cache, never the truth: a reader indexes the lines it does not
cover yet (a crash between the two writes), and a reader or writer that finds it does not match
the store (the store was replaced) indexes the store again from its first line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mlops_demo.core.common.durable import (
    append_durably,
    complete_lines,
    file_size,
    write_atomically,
)
from mlops_demo.core.messages.records import UDI

INDEX_SUFFIX = ".udis"
ENTRY = np.dtype([("udi", "<i8"), ("start", "<i8"), ("end", "<i8")])

_UDI_PREFIX = b'{"UDI":'
_UDI_DIGITS = 19  # an int64 has at most 19 digits
_BLOCK = 1 << 24


def udi_of_line(line: bytes) -> int:
    if line.startswith(_UDI_PREFIX):
        return int(line[len(_UDI_PREFIX) : line.index(b",")])
    return int(json.loads(line)[UDI])


def line_udis(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's start, end (its newline) and UDI, for data of complete lines. Canonical
    lines are read by numpy from the digits after `{"UDI":`, a million in a fraction of a
    second and without a Python object per line; any other line is parsed."""
    if not data:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    buffer = np.frombuffer(data, dtype=np.uint8)
    # In blocks: a comparison over the whole buffer would cost a byte of memory per byte read.
    ends = np.concatenate(
        [
            np.flatnonzero(buffer[at : at + _BLOCK] == ord("\n")) + at
            for at in range(0, len(buffer), _BLOCK)
        ]
    )
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    last = len(buffer) - 1
    # Column by column, so memory stays a few arrays of one value per line.
    canonical = np.ones(len(starts), dtype=bool)
    for offset, byte in enumerate(_UDI_PREFIX):
        canonical &= buffer[np.minimum(starts + offset, last)] == byte
    udis = np.zeros(len(starts), dtype=np.int64)
    counting = canonical.copy()
    for offset in range(len(_UDI_PREFIX), len(_UDI_PREFIX) + _UDI_DIGITS + 1):
        digit = buffer[np.minimum(starts + offset, last)].astype(np.int64) - ord("0")
        counting &= (digit >= 0) & (digit <= 9)
        udis = np.where(counting, udis * 10 + digit, udis)
    # A canonical line's digits end at a comma; anything else is parsed the slow way.
    for i in np.flatnonzero(~canonical | counting | (udis == 0)):
        udis[i] = udi_of_line(data[starts[i] : ends[i]])
    return starts, ends, udis


def entries_of(data: bytes, offset: int) -> np.ndarray:
    """The entries of complete lines `data`, read from the store at `offset`."""
    starts, ends, udis = line_udis(data)
    entries = np.empty(len(udis), dtype=ENTRY)
    entries["udi"], entries["start"], entries["end"] = udis, starts + offset, ends + offset
    return entries


class UdiIndex:
    def __init__(self, store_path: Path):
        self.store_path = store_path
        self.path = store_path.with_name(store_path.name + INDEX_SUFFIX)

    def entries(self) -> np.ndarray:
        """Every complete stored line's entry, in the store's order."""
        return self.entries_and_whether_written()[0]

    def entries_and_whether_written(self) -> tuple[np.ndarray, bool]:
        """The entries, and whether the index file holds them all (False when the store's
        newest lines, or all of it, had to be read)."""
        written = self._written()
        try:
            with open(self.store_path, "rb") as store:
                if not _matches(store, written):
                    written = written[:0]
                covered = int(written["end"][-1]) + 1 if len(written) else 0
                store.seek(covered)
                read = list(_entries_from(store, covered))
        except FileNotFoundError:
            return np.zeros(0, dtype=ENTRY), not len(written)
        if not read:
            return written, True
        return np.concatenate([written, *read]), False

    def count_if_whole(self) -> int | None:
        """How many lines the index locates, if it covers the whole store: its first and last
        entries locate lines of their UDIs, and the last one ends where the store does. None
        otherwise. Reads two entries and two lines, whatever the store's size."""
        count = file_size(self.path) // ENTRY.itemsize
        if not count:
            return None
        with open(self.path, "rb") as index:
            first = os.pread(index.fileno(), ENTRY.itemsize, 0)
            last = os.pread(index.fileno(), ENTRY.itemsize, (count - 1) * ENTRY.itemsize)
        ends = np.frombuffer(first + last, dtype=ENTRY)
        try:
            with open(self.store_path, "rb") as store:
                whole = int(ends["end"][-1]) + 1 == os.fstat(store.fileno()).st_size
                return count if whole and _matches(store, ends) else None
        except FileNotFoundError:
            return None

    def bring_up_to_date(self) -> np.ndarray:
        """Call under the store's lock: index what the file does not cover yet."""
        entries, written = self.entries_and_whether_written()
        if not written:
            write_atomically(self.path, entries.tobytes())
        return entries

    def extend(self, entries: np.ndarray) -> None:
        """Call under the store's lock, once the lines they locate are durable. A torn entry
        (a crash mid-append) is ignored: the next reader indexes those lines itself."""
        append_durably(self.path, entries.tobytes())

    def _written(self) -> np.ndarray:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        return np.frombuffer(raw[: len(raw) - len(raw) % ENTRY.itemsize], dtype=ENTRY)


def _entries_from(store, offset: int) -> Iterator[np.ndarray]:
    """The entries of the complete lines from the file's position on, read in blocks: indexing
    a whole store of millions costs a block of memory, not the store's size."""
    carry = b""
    while block := store.read(_BLOCK):
        data = carry + block
        complete = complete_lines(data)  # a torn last line is no record yet
        if complete:
            yield entries_of(complete, offset)
        offset += len(complete)
        carry = data[len(complete) :]


def _matches(store, written: np.ndarray) -> bool:
    """Whether the first and last entries locate lines of those UDIs in this store."""
    size = os.fstat(store.fileno()).st_size
    for entry in (written[:1], written[-1:]):
        if not len(entry):
            continue
        start, end = int(entry["start"][0]), int(entry["end"][0])
        if not 0 <= start <= end < size:
            return False
        line = os.pread(store.fileno(), end - start + 1, start)
        if not line.endswith(b"\n") or _udi_or_none(line[:-1]) != int(entry["udi"][0]):
            return False
    return True


def _udi_or_none(line: bytes) -> int | None:
    try:
        return udi_of_line(line)
    except (ValueError, KeyError, TypeError):
        return None


def read_lines(store_path: Path, chosen: np.ndarray) -> list[bytes]:
    """The lines these entries locate, without their newline."""
    if not len(chosen):
        return []
    starts, ends = chosen["start"], chosen["end"]
    with open(store_path, "rb") as store:
        fd = store.fileno()
        if np.array_equal(starts[1:], ends[:-1] + 1):
            # Consecutive lines, as entries in arrival order are: one read, not one per line
            # (a tenth of the time at 100,000 lines).
            first, size = int(starts[0]), int(ends[-1] - starts[0])
            span = os.pread(fd, size, first)
            if len(span) == size:
                return span.split(b"\n")
        return [
            os.pread(fd, int(end - start), int(start))
            for start, end in zip(starts, ends, strict=True)
        ]
