"""The frames the assets hand on: the project's column documents against pandas' Table Schema JSON.

    .venv/bin/python bench/frames.py [--rows 100000] [--repeat 5]

On N simulated joined rows (readings with their statuses, as `joined_cleaned_readings_and_statuses`
hands on), best of R alternating rounds: seconds to write each form and to read it back, its size,
and whether the frame came back equal.
"""

import argparse
import sys
import time
from io import StringIO

import pandas as pd

from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.storage.frames import frame_bytes, frame_of


def _table_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="table", index=False).encode()


def _table_of(data: bytes) -> pd.DataFrame:
    return pd.read_json(StringIO(data.decode()), orient="table")


def _timed(write, read, frame: pd.DataFrame) -> tuple[float, float, bytes, pd.DataFrame]:
    started = time.perf_counter()
    data = write(frame)
    written = time.perf_counter()
    back = read(data)
    return written - started, time.perf_counter() - written, data, back


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame = pd.DataFrame(simulate(args.rows))
    forms = {
        "column documents": (frame_bytes, frame_of),
        "Table Schema JSON": (_table_bytes, _table_of),
    }
    best: dict[str, tuple] = {}
    for _ in range(args.repeat):
        for name, (write, read) in forms.items():
            figures = _timed(write, read, frame)
            if name not in best or sum(figures[:2]) < sum(best[name][:2]):
                best[name] = figures
    print(f"{args.rows:,} joined rows, best of {args.repeat}")
    print(f"{'form':<18} {'write s':>8} {'read s':>8} {'MB':>6} {'equal':>6}")
    for name, (write_s, read_s, data, back) in best.items():
        print(f"{name:<18} {write_s:>8.3f} {read_s:>8.3f} {len(data) / 1e6:>6.1f} "
              f"{back.equals(frame)!s:>6}")  # fmt: skip
    ours, theirs = best["column documents"], best["Table Schema JSON"]
    print(f"write and read: {sum(ours[:2]) / sum(theirs[:2]):.2f}x the Table Schema JSON's time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
