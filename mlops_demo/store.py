"""The JSONL store: one canonical JSON line per record, keyed by UDI, plus its quarantine file.

Writers hold the store's lock, so two ingestion runs never interleave. Each record is written in
one canonical form, so "already stored" and "stored with different content" are a hash lookup
in an index built by one pass over the file, never a re-read per message.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mlops_demo import records as r
from mlops_demo.cleaning import clean
from mlops_demo.durable import append_durably, complete_lines, locked, repair_tail
from mlops_demo.landing import LandingArea


@dataclass(frozen=True)
class IngestCounts:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    total_rows: int = 0
    batches: int = 0


def canonical_line(record: dict) -> bytes:
    """The record's one stored form, without its newline."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


_UDI_PREFIX = b'{"UDI":'


def _udi_of_line(line: bytes) -> int:
    if line.startswith(_UDI_PREFIX):
        return int(line[len(_UDI_PREFIX) : line.index(b",")])
    return int(json.loads(line)[r.UDI])


def quarantine_line(body: bytes, reason: str) -> bytes:
    entry: dict = {
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "reason": reason,
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    try:
        entry["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        entry["body_base64"] = base64.b64encode(body).decode("ascii")
    return json.dumps(entry, ensure_ascii=False).encode() + b"\n"


def read_records(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Every record stored at path; a torn last line (a writer died mid-line) is ignored."""
    try:
        lines = complete_lines(path.read_bytes()).splitlines()
    except FileNotFoundError:
        lines = []
    return pd.DataFrame.from_records([json.loads(line) for line in lines], columns=list(columns))


class JsonlStore:
    # The landing batch on the same disk is as durable as the store: ack first, store after.
    commits_before_ack = False

    def __init__(self, path: Path, quarantine_path: Path):
        self.path = path
        self.quarantine_path = quarantine_path

    @property
    def location(self) -> str:
        return str(self.path)

    def _stream_lines(self) -> Iterator[bytes]:
        """Complete lines without their newline, read in a stream so memory stays flat."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 (closed by the with below)
        except FileNotFoundError:
            return
        with f:
            for line in f:
                if line.endswith(b"\n"):
                    yield line[:-1]

    def row_count(self) -> int:
        """Complete lines in the store, counted in blocks so a large store costs no memory."""
        try:
            with open(self.path, "rb") as f:
                return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        except FileNotFoundError:
            return 0

    def read_frame(self, columns: tuple[str, ...]) -> pd.DataFrame:
        return read_records(self.path, columns)

    def quarantined(self) -> list[dict]:
        try:
            data = complete_lines(self.quarantine_path.read_bytes())
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in data.splitlines()]

    def ingest(self, landing: LandingArea, validate: Callable[[dict], dict]) -> IngestCounts:
        """Clean every landed batch into the store, then delete the batch.

        Safe to repeat after a crash at any point: a batch is deleted only once its records and
        quarantine entries are fsync'd, and replaying it stores nothing twice.
        """
        with locked(self.path):
            repair_tail(self.path)
            repair_tail(self.quarantine_path)
            landing.remove_abandoned_partials()
            index = {_udi_of_line(line): hash(line) for line in self._stream_lines()}
            quarantined_bodies = {entry["body_sha256"] for entry in self.quarantined()}
            received = stored = duplicates = quarantined = batches = 0
            for batch in landing.batches():
                good: list[bytes] = []
                bad: list[bytes] = []
                for body in landing.read(batch):
                    received += 1
                    outcome = clean(body, validate)
                    if outcome.record is not None:
                        line = canonical_line(outcome.record)
                        known = index.get(outcome.record[r.UDI])
                        if known is None:
                            index[outcome.record[r.UDI]] = hash(line)
                            good.append(line)
                            continue
                        if known == hash(line):
                            duplicates += 1
                            continue
                        reason = (
                            f"UDI {outcome.record[r.UDI]} is already stored with different content"
                        )
                    else:
                        reason = outcome.reason
                    digest = hashlib.sha256(body).hexdigest()
                    if digest in quarantined_bodies:
                        duplicates += 1
                        continue
                    quarantined_bodies.add(digest)
                    bad.append(quarantine_line(body, reason))
                append_durably(self.path, b"".join(line + b"\n" for line in good))
                append_durably(self.quarantine_path, b"".join(bad))
                landing.remove(batch)
                stored += len(good)
                quarantined += len(bad)
                batches += 1
            return IngestCounts(
                received=received,
                stored=stored,
                duplicates=duplicates,
                quarantined=quarantined,
                total_rows=len(index),
                batches=batches,
            )
