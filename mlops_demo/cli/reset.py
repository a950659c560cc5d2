"""`mlops-demo reset [--yes]`: the demo back to a fresh start.

Removes the JSONL stores and quarantine files, landing batches, the trained models (keeping
trained-models/.gitkeep), the Dagster home's run history (keeping its dagster.yaml), and purges
both queues. It refuses while a `dagster dev` of the project is running.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from mlops_demo.cli.dagster_dev import running_dagster_processes
from mlops_demo.cli.errors import CommandError
from mlops_demo.core import broker
from mlops_demo.core.settings import (
    LANDING_DIR,
    MODELS_DIR,
    PREDICTIONS_FILE,
    Settings,
    get_settings,
    redact_url,
)
from mlops_demo.core.store import StoreUnavailable, open_store
from mlops_demo.core.store.jsonl import DIGESTS_SUFFIX
from mlops_demo.core.store.udi_index import INDEX_SUFFIX
from mlops_demo.core.streams import READINGS, STATUSES

KEEP = {".gitkeep", "dagster.yaml"}


def doomed_paths(data_dir: Path, dagster_home: Path) -> list[Path]:
    """Every file or folder the reset removes, in a stable order."""
    paths: list[Path] = []
    names = [PREDICTIONS_FILE]
    for stream in (READINGS, STATUSES):
        names += [
            stream.store_file,
            stream.store_file + INDEX_SUFFIX,
            stream.quarantine_file,
            stream.quarantine_file + DIGESTS_SUFFIX,
        ]
    for name in names:
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
    import dagster as dg  # only this branch needs Dagster: the rest of the command starts fast

    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.wipe()
    click.echo("wiped the PostgreSQL Dagster instance's run history")


def _describe(paths: list[Path], settings: Settings) -> None:
    click.echo("This removes:")
    for path in paths:
        click.echo(f"  {path}")
    if settings.store_is_postgres:
        where = redact_url(settings.store_url)
        click.echo(
            f"  the PostgreSQL schema {settings.store_schema} at {where} (the store and the "
            "model registry)"
        )
    if settings.dagster_instance == "postgres":
        click.echo("  the run history in the PostgreSQL Dagster instance")
    click.echo(
        f"and purges the queues {settings.readings_queue!r} and {settings.statuses_queue!r} at "
        f"{redact_url(settings.broker_url)}."
    )


def _clear_services(settings: Settings, home: Path) -> None:
    try:
        if settings.store_is_postgres:
            open_store(READINGS, settings).drop()
            click.echo(f"dropped the schema {settings.store_schema}")
    except StoreUnavailable as exc:
        raise CommandError(str(exc)) from None
    if settings.dagster_instance == "postgres":
        _wipe_dagster_instance(home)
    try:
        for queue in (settings.readings_queue, settings.statuses_queue):
            click.echo(f"purged {broker.purge(settings.broker_url, queue)} messages from {queue!r}")
    except broker.BrokerUnavailable as exc:
        raise CommandError(f"the files are reset but the queues are not: {exc}") from None


@click.command()
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--dagster-home", type=click.Path(path_type=Path), hidden=True)
def reset(yes: bool, dagster_home: Path | None) -> None:
    """Reset the demo to a fresh start: remove the stores, quarantine files, landing batches, the
    trained models (keeping trained-models/.gitkeep) and the Dagster home's history (keeping its
    dagster.yaml), and purge both queues. It lists what it removes and asks first, and refuses
    while a `dagster dev` of the project runs.

    \b
    Examples:
      mlops-demo reset          # lists, asks, then removes
      mlops-demo reset --yes    # no question
    """
    settings = get_settings()
    home = (dagster_home or settings.dagster_home).resolve()
    running = running_dagster_processes(home)
    if running:
        pids = ", ".join(map(str, running))
        raise CommandError(f"dagster dev is running on {home} (pids {pids}); stop it, then reset.")
    paths = doomed_paths(settings.data_dir, home)
    _describe(paths, settings)
    if not yes:
        click.echo("Type 'yes' to go on: ", nl=False)
        if sys.stdin.readline().strip().lower() != "yes":
            click.echo("nothing was removed")
            sys.exit(1)
    for path in paths:
        _remove(path)
    click.echo(f"removed {len(paths)} files and folders")
    _clear_services(settings, home)
