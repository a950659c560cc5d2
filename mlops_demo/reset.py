"""Reset the demo to a fresh start: `python -m mlops_demo.reset [--yes]`.

Removes the JSONL stores and quarantine files, landing batches, the trained models (keeping
trained-models/.gitkeep), the Dagster home's run history (keeping its dagster.yaml), and purges
both queues. It refuses while a `dagster dev` of the project is running.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from mlops_demo import broker
from mlops_demo.dagster_dev import running_dagster_processes
from mlops_demo.pg_store import StoreUnavailable
from mlops_demo.settings import LANDING_DIR, MODELS_DIR, get_settings, redact_url
from mlops_demo.stores import open_store
from mlops_demo.streams import READINGS, STATUSES

KEEP = {".gitkeep", "dagster.yaml"}


def doomed_paths(data_dir: Path, dagster_home: Path) -> list[Path]:
    """Every file or folder the reset removes, in a stable order."""
    paths: list[Path] = []
    for stream in (READINGS, STATUSES):
        for name in (stream.store_file, stream.quarantine_file):
            paths += [data_dir / name, data_dir / f"{name}.lock"]
    paths.append(data_dir / LANDING_DIR)
    for folder in (data_dir / MODELS_DIR, dagster_home):
        if folder.is_dir():
            paths += sorted(p for p in folder.iterdir() if p.name not in KEEP)
    return [path for path in paths if path.exists()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _wipe_dagster_instance(home: Path) -> None:
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.wipe()
    print("wiped the PostgreSQL Dagster instance's run history")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dagster-home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = get_settings()
    home = (args.dagster_home or settings.dagster_home).resolve()
    running = running_dagster_processes(home)
    if running:
        pids = ", ".join(map(str, running))
        print(f"error: dagster dev is running on {home} (pids {pids}); stop it, then reset.",
              file=sys.stderr)  # fmt: skip
        return 1
    paths = doomed_paths(settings.data_dir, home)
    queues = [settings.readings_queue, settings.statuses_queue]
    print("This removes:")
    for path in paths:
        print(f"  {path}")
    if settings.store_is_postgres:
        print(
            f"  the PostgreSQL schema {settings.store_schema} at {redact_url(settings.store_url)}"
        )
    if settings.dagster_instance == "postgres":
        print("  the run history in the PostgreSQL Dagster instance")
    print(f"and purges the queues {queues[0]!r} and {queues[1]!r} at "
          f"{redact_url(settings.broker_url)}.")  # fmt: skip
    if not args.yes:
        print("Type 'yes' to go on: ", end="", flush=True)
        if sys.stdin.readline().strip().lower() != "yes":
            print("nothing was removed")
            return 1
    for path in paths:
        _remove(path)
    print(f"removed {len(paths)} files and folders")
    try:
        if settings.store_is_postgres:
            open_store(READINGS, settings.data_dir, settings).drop()
            print(f"dropped the schema {settings.store_schema}")
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if settings.dagster_instance == "postgres":
        _wipe_dagster_instance(home)
    try:
        for queue in queues:
            print(f"purged {broker.purge(settings.broker_url, queue)} messages from {queue!r}")
    except broker.BrokerUnavailable as exc:
        print(f"error: the files are reset but the queues are not: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
