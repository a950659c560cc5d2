"""The JSONL store at scale: ingest a batch into a store that already holds a million rows.

    .venv/bin/python bench/store.py [--rows 1000000] [--batch 10000]

Builds a store of `--rows` canonical reading lines, then times `JsonlStore.ingest` of a landed
batch of new readings (half of them repeats of stored UDIs, to exercise the dedupe), in a fresh
process so its peak RSS is its own: once with no UDI index yet (that ingest writes it, as the
first after an upgrade does), then once more as every later ingest runs. Dedupe builds one
index per ingest in a single pass over the file; it never re-reads the file per message.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb

from mlops_demo.core.cleaning import validate_reading
from mlops_demo.core.landing import LandingArea
from mlops_demo.core.records import reading_of
from mlops_demo.core.simulator import iter_records
from mlops_demo.core.store.jsonl import JsonlStore
from mlops_demo.core.store.protocol import canonical_line


def _child(directory: Path) -> dict:
    store = JsonlStore(directory / "store.jsonl", directory / "quarantine.jsonl")
    started = time.perf_counter()
    counts = store.ingest(LandingArea(directory / "landing"), validate_reading)
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "stored": counts.stored,
        "duplicates": counts.duplicates,
        "total": counts.total_rows,
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
                f.write(canonical_line(reading_of(next(records))) + b"\n")
        built = time.perf_counter() - started
        size_mb = (directory / "store.jsonl").stat().st_size / 1e6
        print(f"store of {args.rows:,} rows ({size_mb:.0f} MB, built in {built:.0f} s)")
        # The first ingest also writes the store's UDI index, as after an upgrade; the second
        # is every later one.
        for which in ("first ingest (writes the UDI index)", "next ingest (index present)"):
            repeats = [reading_of(x) for x in _tail(args.rows, args.batch // 2)]
            new = [reading_of(next(records)) for _ in range(args.batch - len(repeats))]
            bodies = [json.dumps(m).encode() for m in repeats + new]
            LandingArea(directory / "landing").land(bodies)
            result = subprocess.run([sys.executable, __file__, "--child", tmp],
                                    capture_output=True, text=True, check=True)  # fmt: skip
            figures = json.loads(result.stdout)
            rate = args.batch / figures["seconds"]
            print(f"{which}, {args.batch:,} messages: {figures['seconds']:.2f} s, {rate:,.0f} "
                  f"msg/s, peak {figures['peak_rss_mb']:.0f} MB; stored {figures['stored']:,}, "
                  f"duplicates {figures['duplicates']:,}, total {figures['total']:,}")  # fmt: skip
    return 0


def _tail(rows: int, n: int) -> list[dict]:
    from mlops_demo.core.simulator import simulate

    return simulate(n, offset=rows - n)


if __name__ == "__main__":
    sys.exit(main())
