"""The JSONL store at scale: ingest a batch into a store that already holds a million rows.

    .venv/bin/python bench/store.py [--rows 1000000] [--batch 10000]

Builds a store of `--rows` canonical reading lines, then times what a drain does with a batch of
new readings (half of them repeats of stored UDIs, to exercise the dedupe): two chunks, each
landed and stored by `JsonlStore.land_chunk`, in a fresh process so its peak RSS is its own.
Once with no UDI index yet (that drain writes it, as the first after an upgrade does), then once
more as every later drain runs. The first chunk builds the dedupe index in one pass over the
file; the next chunk of the same drain reuses it.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb

from mlops_demo.core.messages.cleaning import clean_reading
from mlops_demo.core.messages.records import reading_of
from mlops_demo.core.plant.simulator import iter_records
from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.landing import LandingArea


def _child(directory: Path) -> dict:
    store = JsonlStore(directory / "store.jsonl", directory / "quarantine.jsonl")
    landing = LandingArea(directory / "landing")
    bodies = json.loads((directory / "bodies.json").read_text())
    half = len(bodies) // 2
    seconds, counts = [], []
    for chunk in (bodies[:half], bodies[half:]):
        started = time.perf_counter()
        counts.append(store.land_chunk(landing, [b.encode() for b in chunk], clean_reading))
        seconds.append(time.perf_counter() - started)
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "stored": sum(c.stored for c in counts),
        "duplicates": sum(c.duplicates for c in counts),
        "quarantined": sum(c.quarantined for c in counts),
        "total": counts[-1].total_rows,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(Path(sys.argv[2]))))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        records = iter_records()
        started = time.perf_counter()
        with open(directory / "store.jsonl", "wb") as f:
            for _ in range(args.rows):
                # The line ingestion writes, so that a repeat below is a duplicate, not a conflict.
                f.write(clean_reading(json.dumps(reading_of(next(records))).encode()).line + b"\n")
        built = time.perf_counter() - started
        size_mb = (directory / "store.jsonl").stat().st_size / 1e6
        print(f"store of {args.rows:,} rows ({size_mb:.0f} MB, built in {built:.0f} s)")
        # The first ingest also writes the store's UDI index, as after an upgrade; the second
        # is every later one.
        for which in ("first drain (writes the UDI index)", "next drain (index present)"):
            repeats = [reading_of(x) for x in _tail(args.rows, args.batch // 2)]
            new = [reading_of(next(records)) for _ in range(args.batch - len(repeats))]
            random.Random(0).shuffle(bodies := [json.dumps(m) for m in repeats + new])
            (directory / "bodies.json").write_text(json.dumps(bodies))
            result = subprocess.run([sys.executable, __file__, "--child", tmp],
                                    capture_output=True, text=True, check=True)  # fmt: skip
            figures = json.loads(result.stdout)
            first, second = figures["seconds"]
            print(f"{which}, {args.batch:,} messages in two chunks: {first:.2f} s, then "
                  f"{second:.2f} s; peak {figures['peak_rss_mb']:.0f} MB; stored "
                  f"{figures['stored']:,}, duplicates {figures['duplicates']:,}, quarantined "
                  f"{figures['quarantined']:,}, total "
                  f"{figures['total']:,}")  # fmt: skip
    return 0


def _tail(rows: int, n: int) -> list[dict]:
    from mlops_demo.core.plant.simulator import simulate

    return simulate(n, offset=rows - n)


if __name__ == "__main__":
    sys.exit(main())
