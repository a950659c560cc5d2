"""`mlops-demo deploy-local`: Dagster's production topology on this machine, as separate processes.

A code server (`dagster code-server start`, gRPC) serves the code location; `dagster-webserver`
and `dagster-daemon run` reach it through a workspace that names its port. All three share
nothing but PostgreSQL (the Dagster instance and the store): each has its own working directory
and its own Dagster home, whose dagster.yaml points at the same database. Runs start in the code
server's environment, so only it has a data directory (trained-models/, landing/).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from mlops_demo.cli.dagster_dev import (
    LOCATION,
    DagsterDev,
    DagsterDevError,
    free_port,
    group_alive,
)
from mlops_demo.cli.errors import CommandError
from mlops_demo.cli.signals import Stopped, stopping_on_signals
from mlops_demo.core.settings import (
    DAGSTER_HOMES,
    DEFAULT_DAGSTER_POSTGRES_URL,
    REPO_ROOT,
    is_postgres_url,
)

COMPONENTS = ("code-server", "webserver", "daemon")
DEFAULT_STORE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
READY_SECONDS = 120.0


class LocalDeployment:
    """The three processes of a Dagster deployment, each started, stopped or killed on its own."""

    def __init__(self, root: Path, web_port: int | None = None, code_port: int | None = None):
        self.root = root.resolve()
        self.web_port = web_port or free_port()
        self.code_port = code_port or free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        self.webserver = DagsterDev(home=self.root / "webserver", port=self.web_port)
        self.env = {
            **os.environ,
            "MLOPS_DAGSTER_POSTGRES_URL": os.environ.get("MLOPS_DAGSTER_POSTGRES_URL")
            or DEFAULT_DAGSTER_POSTGRES_URL,
            "MLOPS_STORE_URL": os.environ.get("MLOPS_STORE_URL") or DEFAULT_STORE_URL,
        }
        if not is_postgres_url(self.env["MLOPS_STORE_URL"]):
            raise CommandError(
                "deploy-local shares nothing but PostgreSQL between its processes: set "
                "MLOPS_STORE_URL to a postgresql:// URL (or leave it unset for "
                f"{DEFAULT_STORE_URL})"
            )

    def folder(self, component: str) -> Path:
        return self.root / component

    def _prepare(self, component: str) -> dict[str, str]:
        folder = self.folder(component)
        home = folder / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(DAGSTER_HOMES["postgres"] / "dagster.yaml", home / "dagster.yaml")
        (folder / "workspace.yaml").write_text(
            "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
            f"      port: {self.code_port}\n      location_name: {LOCATION}\n"
        )
        env = {**self.env, "DAGSTER_HOME": str(home)}
        if component == "code-server":
            env["MLOPS_DATA_DIR"] = str(folder / "data")
        else:  # nothing but the code server may find the project's files
            env.pop("MLOPS_DATA_DIR", None)
        return env

    def command(self, component: str) -> list[str]:
        python = [sys.executable, "-m"]
        if component == "code-server":
            return [*python, "dagster", "code-server", "start", "-h", "127.0.0.1",
                    "-p", str(self.code_port), "-m", "mlops_demo.definitions",
                    "--location-name", LOCATION]  # fmt: skip
        if component == "webserver":
            return [*python, "dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1",
                    "-p", str(self.web_port)]  # fmt: skip
        # The console script of this environment: the daemon has no `python -m` entry point.
        return [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"]

    def start(self, component: str) -> None:
        env = self._prepare(component)
        log = open(self.folder(component) / f"{component}.log", "ab")  # noqa: SIM115 (the child writes on)
        self.processes[component] = subprocess.Popen(
            self.command(component),
            cwd=self.folder(component),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def signal(self, component: str, signum: int) -> None:
        process = self.processes.get(component)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)

    def stop(self, component: str, timeout: float = 30.0) -> None:
        """SIGTERM the component's process group, then SIGKILL what is left of it."""
        process = self.processes.pop(component, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
        deadline = time.monotonic() + 5  # its children (the code server's gRPC worker)
        while time.monotonic() < deadline and group_alive(process.pid):
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def kill(self, component: str) -> None:
        """SIGKILL, as a crash or an evicted container would end it."""
        self.signal(component, signal.SIGKILL)
        self.processes.pop(component).wait()

    def wait_for_code_server(self, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        check = [sys.executable, "-m", "dagster", "api", "grpc-health-check",
                 "-h", "127.0.0.1", "-p", str(self.code_port)]  # fmt: skip
        while time.monotonic() < deadline:
            process = self.processes.get("code-server")
            if process is not None and process.poll() is not None:
                raise DagsterDevError(f"the code server exited; see {self.log('code-server')}")
            if subprocess.run(check, capture_output=True, env=self.env).returncode == 0:
                return
            time.sleep(0.5)
        raise DagsterDevError(f"the code server did not answer within {timeout:.0f} s")

    def log(self, component: str) -> Path:
        return self.folder(component) / f"{component}.log"

    def start_all(self) -> None:
        self.start("code-server")
        self.wait_for_code_server()
        self.start("webserver")
        self.start("daemon")
        self.webserver.wait_until_ready()

    def stop_all(self) -> None:
        for component in reversed(COMPONENTS):
            self.stop(component)


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
    deployment = LocalDeployment(root, web_port=port)
    with stopping_on_signals():
        try:
            deployment.start_all()
            pids = ", ".join(f"{c} {p.pid}" for c, p in deployment.processes.items())
            click.echo(f"up at {deployment.webserver.url} (code server on port "
                       f"{deployment.code_port}; {pids}); logs in {deployment.root}; Ctrl+C "
                       "stops all three")  # fmt: skip
            while all(p.poll() is None for p in deployment.processes.values()):
                time.sleep(1)
            gone = [c for c, p in deployment.processes.items() if p.poll() is not None]
            raise CommandError(f"{', '.join(gone)} exited; see {deployment.log(gone[0])}")
        except Stopped as exc:
            click.echo(f"stopping the deployment ({exc.signal_name})", err=True)
            sys.exit(exc.exit_code)
        except DagsterDevError as exc:
            raise CommandError(str(exc)) from None
        finally:
            deployment.stop_all()
