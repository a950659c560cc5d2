"""The JSONL store: one canonical JSON line per record, keyed by UDI, plus its quarantine file.

Writers hold the store's lock, so two ingestion runs never interleave. Each record is written in
one canonical form, so "already stored" and "stored with different content" are a hash lookup
in an index built by one pass over the file, never a re-read per message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_demo.core.cleaning import clean
from mlops_demo.core.durable import (
    append_durably,
    complete_lines,
    locked,
    repair_tail,
    write_atomically,
)
from mlops_demo.core.landing import LandingArea
from mlops_demo.core.records import UDI
from mlops_demo.core.store.protocol import (
    IngestCounts,
    Validate,
    canonical_line,
    conflict_reason,
    quarantine_entry,
)

_UDI_PREFIX = b'{"UDI":'


def _udi_of_line(line: bytes) -> int:
    if line.startswith(_UDI_PREFIX):
        return int(line[len(_UDI_PREFIX) : line.index(b",")])
    return int(json.loads(line)[UDI])


_UDI_DIGITS = 19  # an int64 has at most 19 digits
_BLOCK = 1 << 24


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
        udis[i] = _udi_of_line(data[starts[i] : ends[i]])
    return starts, ends, udis


def read_records(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Every record stored at path; a torn last line (a writer died mid-line) is ignored."""
    try:
        lines = complete_lines(path.read_bytes()).splitlines()
    except FileNotFoundError:
        lines = []
    return pd.DataFrame.from_records([json.loads(line) for line in lines], columns=list(columns))


DIGESTS_SUFFIX = ".sha256"


def _complete_lines_from(path: Path, offset: int = 0) -> Iterator[bytes]:
    """The complete lines from `offset` on, without their newline, read in a stream."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return
    with f:
        f.seek(offset)
        for line in f:
            if line.endswith(b"\n"):
                yield line[:-1]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class QuarantineDigests:
    """The SHA-256 of every quarantined body, beside the quarantine, so that an ingestion never
    re-reads the quarantine itself: a digest a line, and after each batch `@<size>`, the size of
    the quarantine those digests cover. Entries a crash left uncovered are read from that size
    on, and only those."""

    def __init__(self, quarantine_path: Path):
        self.quarantine_path = quarantine_path
        self.path = quarantine_path.with_name(quarantine_path.name + DIGESTS_SUFFIX)

    def load(self) -> set[str]:
        """Call under the store's lock."""
        repair_tail(self.path)
        digests: set[str] = set()
        covered = 0
        for line in _complete_lines_from(self.path):
            if line.startswith(b"@"):
                covered = int(line[1:])
            else:
                digests.add(line.decode())
        size = _size(self.quarantine_path)
        if size < covered:  # the quarantine was replaced: index it again from its start
            write_atomically(self.path, b"")
            digests, covered = set(), 0
        if size > covered:
            missed = [
                json.loads(line)["body_sha256"]
                for line in _complete_lines_from(self.quarantine_path, covered)
            ]
            digests.update(missed)
            self.record(missed)
        return digests

    def record(self, digests: list[str]) -> None:
        """Add the digests of entries just made durable, and the size they bring it to."""
        lines = b"".join(digest.encode() + b"\n" for digest in digests)
        append_durably(self.path, lines + f"@{_size(self.quarantine_path)}\n".encode())


class _Index:
    """What the store holds, for one ingestion: each UDI's line hash and each quarantined body."""

    def __init__(self, lines: Iterator[bytes], quarantined: set[str]):
        self.lines = {_udi_of_line(line): hash(line) for line in lines}
        self.bodies = quarantined


class JsonlStore:
    def __init__(self, path: Path, quarantine_path: Path):
        self.path = path
        self.quarantine_path = quarantine_path
        self.digests = QuarantineDigests(quarantine_path)

    @property
    def location(self) -> str:
        return str(self.path)

    def row_count(self) -> int:
        """Complete lines in the store, counted in blocks so a large store costs no memory."""
        try:
            with open(self.path, "rb") as f:
                return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        except FileNotFoundError:
            return 0

    def read_frame(self, columns: tuple[str, ...]) -> pd.DataFrame:
        return read_records(self.path, columns)

    def _lines_and_udis(self) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
        try:
            data = complete_lines(self.path.read_bytes())
        except FileNotFoundError:
            data = b""
        return (data, *line_udis(data))

    def udis(self) -> np.ndarray:
        return np.sort(self._lines_and_udis()[3])

    def _parsed(self, columns, data: bytes, starts, ends, chosen) -> pd.DataFrame:
        records = [json.loads(data[starts[i] : ends[i]]) for i in chosen]
        return pd.DataFrame.from_records(records, columns=list(columns))

    def read_range(
        self,
        columns: tuple[str, ...],
        first_udi: int | None = None,
        last_udi: int | None = None,
        newest: int | None = None,
    ) -> pd.DataFrame:
        data, starts, ends, udis = self._lines_and_udis()
        inside = np.ones(len(udis), dtype=bool)
        if first_udi is not None:
            inside &= udis >= first_udi
        if last_udi is not None:
            inside &= udis <= last_udi
        chosen = np.flatnonzero(inside)
        chosen = chosen[np.argsort(udis[chosen], kind="stable")]
        if newest is not None:
            chosen = chosen[len(chosen) - newest :] if newest else chosen[:0]
        return self._parsed(columns, data, starts, ends, chosen)

    def read_udis(self, columns: tuple[str, ...], udis: np.ndarray) -> pd.DataFrame:
        data, starts, ends, stored = self._lines_and_udis()
        chosen = np.flatnonzero(np.isin(stored, udis))
        chosen = chosen[np.argsort(stored[chosen], kind="stable")]
        return self._parsed(columns, data, starts, ends, chosen)

    def quarantined(self) -> list[dict]:
        try:
            data = complete_lines(self.quarantine_path.read_bytes())
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in data.splitlines()]

    def land_chunk(
        self, landing: LandingArea, bodies: list[bytes], validate: Validate
    ) -> IngestCounts:
        # The landing batch is on the store's own disk, as durable as the store: ack, then store.
        landing.land(bodies)
        return IngestCounts()

    def ingest(self, landing: LandingArea, validate: Validate) -> IngestCounts:
        """Clean every landed batch into the store, then delete the batch.

        Safe to repeat after a crash at any point: a batch is deleted only once its records and
        quarantine entries are fsync'd, and replaying it stores nothing twice.
        """
        with locked(self.path):
            repair_tail(self.path)
            repair_tail(self.quarantine_path)
            landing.remove_abandoned_partials()
            index = _Index(_complete_lines_from(self.path), self.digests.load())
            counts = IngestCounts()
            for batch in landing.batches():
                counts += self._ingest_batch(index, landing.read(batch), validate)
                landing.remove(batch)
            return replace(counts, total_rows=len(index.lines))

    def _ingest_batch(self, index: _Index, bodies: list[bytes], validate: Validate) -> IngestCounts:
        good: list[bytes] = []
        bad: list[bytes] = []
        digests: list[str] = []
        duplicates = 0
        for body in bodies:
            outcome = clean(body, validate)
            if outcome.record is not None:
                line = canonical_line(outcome.record)
                known = index.lines.get(outcome.record[UDI])
                if known is None:
                    index.lines[outcome.record[UDI]] = hash(line)
                    good.append(line)
                    continue
                if known == hash(line):
                    duplicates += 1
                    continue
                reason = conflict_reason(outcome.record[UDI])
            else:
                reason = outcome.reason
            digest = hashlib.sha256(body).hexdigest()
            if digest in index.bodies:
                duplicates += 1
                continue
            index.bodies.add(digest)
            digests.append(digest)
            bad.append(quarantine_entry(body, reason) + b"\n")
        append_durably(self.path, b"".join(line + b"\n" for line in good))
        append_durably(self.quarantine_path, b"".join(bad))
        if bad:
            self.digests.record(digests)
        return IngestCounts(
            received=len(bodies),
            stored=len(good),
            duplicates=duplicates,
            quarantined=len(bad),
            batches=1,
        )
