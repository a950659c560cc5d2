"""`mlops-demo dev`: `dagster dev` on the project's Dagster home, until Ctrl+C."""

from pathlib import Path

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.cli.signals import until_stopped
from mlops_demo.devserver.dagster_dev import DagsterDev
from mlops_demo.devserver.processes import running_dagster_processes


@click.command()
@click.option("-p", "--port", type=int, default=3000, show_default=True, help="webserver port")
@click.option("--dagster-home", type=click.Path(path_type=Path), hidden=True)
def dev(port: int, dagster_home: Path | None) -> None:
    """Start `dagster dev` on the exported DAGSTER_HOME or, without one, on the project's home
    for the instance kind that MLOPS_DAGSTER_INSTANCE selects (sqlite: .dagster_home/,
    postgres: .dagster_home_postgres/), and stop it with everything it started on Ctrl+C.

    \b
    Examples:
      mlops-demo dev                                  # the UI at http://127.0.0.1:3000
      MLOPS_DAGSTER_INSTANCE=postgres mlops-demo dev  # runs and events in PostgreSQL
    """
    server = DagsterDev(home=dagster_home, port=port)
    running = running_dagster_processes(server.home)
    if running:
        raise CommandError(f"dagster dev already runs on {server.home} (pids {running})")
    with until_stopped("dagster dev", server.stop):
        server.start()
        server.wait_until_ready()
        click.echo(
            f"dagster dev (process group {server.process_group}) is up at {server.url} with "
            f"the Dagster home {server.home}; Ctrl+C stops it"
        )
        server.wait()
