"""`mlops-demo reset [--yes]`: the demo back to a fresh start.

Removes the JSONL stores and quarantine files, landing batches, the trained models and the
sensor fault log beside them (keeping trained-models/.gitkeep), the Dagster home's run history
(keeping its dagster.yaml), and purges both queues. It refuses while a `dagster dev` of the
project is running.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.core.backends import PostgresBackend
from mlops_demo.core.common.locations import instance_kind
from mlops_demo.core.common.urls import redact_url
from mlops_demo.core.messages.streams import STREAMS
from mlops_demo.core.storage.postgres_connection import StoreUnavailable
from mlops_demo.core.transport import broker
from mlops_demo.defs.resources import RabbitMQResource, StorageResource, from_env
from mlops_demo.devserver.dagster_dev import project_dagster_home
from mlops_demo.devserver.processes import running_dagster_processes

KEEP = {".gitkeep", "dagster.yaml"}


def doomed_paths(storage: StorageResource, dagster_home: Path) -> list[Path]:
    """Every file or folder the reset removes, in a stable order: what the storage says the loop
    writes (a folder store's files wherever it lies), and the Dagster home's history."""
    paths: list[Path] = []
    for path in [*storage.written_paths(), dagster_home]:
        if path in (storage.models_dir, dagster_home):
            if path.is_dir():
                paths += sorted(p for p in path.iterdir() if p.name not in KEEP)
        else:
            paths.append(path)
    return [path for path in paths if path.exists()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _wipe_dagster_instance(home: Path) -> None:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.wipe()
    click.echo("wiped the PostgreSQL Dagster instance's run history")


def _describe(paths: list[Path], storage: StorageResource, rabbitmq: RabbitMQResource) -> None:
    click.echo("This removes:")
    for path in paths:
        click.echo(f"  {path}")
    if isinstance(storage.backend, PostgresBackend):
        click.echo(f"  {storage.backend.describe()} (the store and the model registry)")
    if instance_kind(os.environ) == "postgres":
        click.echo("  the run history in the PostgreSQL Dagster instance")
    click.echo(
        f"and purges the queues {rabbitmq.readings_queue!r} and {rabbitmq.statuses_queue!r} at "
        f"{redact_url(rabbitmq.broker_url)}."
    )


def _clear_services(storage: StorageResource, rabbitmq: RabbitMQResource, home: Path) -> None:
    backend = storage.backend
    try:
        if isinstance(backend, PostgresBackend):
            backend.drop()
            click.echo(f"dropped the schema {backend.schema}")
    except StoreUnavailable as exc:
        raise CommandError(str(exc)) from None
    if instance_kind(os.environ) == "postgres":
        _wipe_dagster_instance(home)
    try:
        for stream in STREAMS:
            purged = rabbitmq.purge(stream)
            click.echo(f"purged {purged} messages from {rabbitmq.queue_name(stream)!r}")
    except broker.BrokerUnavailable as exc:
        raise CommandError(f"the files are reset but the queues are not: {exc}") from None


@click.command()
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--dagster-home", type=click.Path(path_type=Path), hidden=True)
def reset(yes: bool, dagster_home: Path | None) -> None:
    """Reset the demo to a fresh start: remove the stores (JSONL files wherever MLOPS_STORE_URL
    puts them, or the PostgreSQL schema), quarantine files, landing batches, the trained models
    (keeping trained-models/.gitkeep) and the Dagster home's history (keeping its dagster.yaml),
    and purge both queues. It lists what it removes and asks first, and refuses while a
    `dagster dev` of the project runs.

    \b
    Examples:
      mlops-demo reset          # lists, asks, then removes
      mlops-demo reset --yes    # no question
    """
    storage, rabbitmq = from_env(StorageResource), from_env(RabbitMQResource)
    home = (dagster_home or project_dagster_home()).resolve()
    running = running_dagster_processes(home)
    if running:
        pids = ", ".join(map(str, running))
        raise CommandError(f"dagster dev is running on {home} (pids {pids}); stop it, then reset.")
    paths = doomed_paths(storage, home)
    _describe(paths, storage, rabbitmq)
    if not yes:
        click.echo("Type 'yes' to go on: ", nl=False)
        if sys.stdin.readline().strip().lower() != "yes":
            click.echo("nothing was removed")
            sys.exit(1)
    for path in paths:
        _remove(path)
    click.echo(f"removed {len(paths)} files and folders")
    _clear_services(storage, rabbitmq, home)
