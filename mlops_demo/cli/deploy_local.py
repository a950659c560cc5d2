"""`mlops-demo deploy-local`: Dagster's production topology on this machine, until Ctrl+C
(`mlops_demo.devserver.local_deployment` says how it is laid out)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.cli.signals import until_stopped
from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.devserver.dagster_dev import DagsterDevError
from mlops_demo.devserver.local_deployment import LocalDeployment


@click.command("deploy-local")
@click.option("--dir", "root", type=click.Path(path_type=Path),
              default=REPO_ROOT / ".deploy_local", show_default=".deploy_local",
              help="the three processes' working directories")  # fmt: skip
@click.option("-p", "--port", type=int, default=3000, show_default=True, help="webserver port")
def deploy_local(root: Path, port: int) -> None:
    """Run Dagster's production topology on this machine until Ctrl+C: a code server (gRPC),
    the webserver and the daemon as three separate processes, each in its own folder under
    --dir, sharing nothing but PostgreSQL (MLOPS_DAGSTER_POSTGRES_URL for the instance,
    MLOPS_STORE_URL for the store; both default to the local server). docs/scaling.md says
    what runs where.

    \b
    Examples:
      mlops-demo deploy-local                 # the UI at http://127.0.0.1:3000
      MLOPS_STORE_URL=postgresql://me@db:5432/plant mlops-demo deploy-local -p 3001
    """
    try:
        deployment = LocalDeployment(root, web_port=port)
    except DagsterDevError as exc:
        raise CommandError(str(exc)) from None
    with until_stopped("the deployment", deployment.stop_all):
        deployment.start_all()
        pids = ", ".join(f"{c} {p.pid}" for c, p in deployment.processes.items())
        click.echo(f"up at {deployment.webserver.url} (code server on port "
                   f"{deployment.code_port}; {pids}); logs in {deployment.root}; Ctrl+C "
                   "stops all three")  # fmt: skip
        while not any(group.exited() for group in deployment.processes.values()):
            time.sleep(1)
        gone = [c for c, group in deployment.processes.items() if group.exited()]
        raise CommandError(f"{', '.join(gone)} exited; see {deployment.log(gone[0])}")
