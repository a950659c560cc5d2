"""`mlops-demo dev`: `dagster dev` on the project's own Dagster home, until Ctrl+C."""

import click

from mlops_demo.cli.dagster_dev import DagsterDev, DagsterDevError, running_dagster_processes
from mlops_demo.cli.errors import CommandError


@click.command()
@click.option("-p", "--port", type=int, default=3000, show_default=True, help="webserver port")
def dev(port: int) -> None:
    """Start `dagster dev` on the project's Dagster home for the instance kind that
    MLOPS_DAGSTER_INSTANCE selects (sqlite: .dagster_home/, postgres: .dagster_home_postgres/),
    and stop it with everything it started on Ctrl+C.

    \b
    Examples:
      mlops-demo dev                                  # the UI at http://127.0.0.1:3000
      MLOPS_DAGSTER_INSTANCE=postgres mlops-demo dev  # runs and events in PostgreSQL
    """
    server = DagsterDev(port=port)
    running = running_dagster_processes(server.home)
    if running:
        raise CommandError(f"dagster dev already runs on {server.home} (pids {running})")
    server.start()
    try:
        server.wait_until_ready()
        click.echo(
            f"dagster dev is up at {server.url} with the Dagster home {server.home}; "
            "Ctrl+C stops it"
        )
        server.process.wait()
    except KeyboardInterrupt:
        pass
    except DagsterDevError as exc:
        raise CommandError(str(exc)) from None
    finally:
        server.stop()
