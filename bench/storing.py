"""What storing a drained queue costs without the broker: landing each chunk, then cleaning it
into the JSONL store, as the ingestion job's drain does for every chunk it receives.

    .venv/bin/python bench/storing.py [--messages 100000] [--chunk 5000] [--repeat 3]

Prints, per round, the seconds for all chunks and the landing batches' share of them (each
written, fsync'd and renamed before its chunk is stored, so a crash loses nothing). Set beside
`bench/ingest.py`'s raw loop, this is the work the job does that the raw loop does not.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import reading_bodies

from mlops_demo.core.messages.cleaning import clean_reading
from mlops_demo.core.messages.streams import READINGS
from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.landing import LandingArea


def _round(chunks: list[list[bytes]]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        landing = LandingArea(folder / "landing")
        store = JsonlStore(folder / READINGS.store_file, folder / READINGS.quarantine_file)
        landed = stored = 0.0
        for chunk in chunks:
            started = time.perf_counter()
            landing.land(chunk)
            landed_at = time.perf_counter()
            store.ingest(landing, clean_reading)
            landed += landed_at - started
            stored += time.perf_counter() - started
        return stored, landed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bodies = reading_bodies(args.messages)
    chunks = [bodies[i : i + args.chunk] for i in range(0, len(bodies), args.chunk)]
    print(f"{args.messages:,} reading bodies in {len(chunks)} chunks of {args.chunk:,}")
    for n in range(1, args.repeat + 1):
        stored, landed = _round(chunks)
        print(f"round {n}: stored in {stored:.3f} s ({args.messages / stored:,.0f} msg/s); "
              f"the landing batches {landed:.3f} s of it ({landed / stored:.0%})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
