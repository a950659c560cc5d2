"""Dagster's production topology on this machine, as separate processes.

A code server (`dagster code-server start`, gRPC) serves the code location; `dagster-webserver`
and `dagster-daemon run` reach it through a workspace that names its port. All three share
nothing but PostgreSQL (the Dagster instance and the store): each has its own working directory
and its own Dagster home, whose dagster.yaml points at the same database. Runs start in the code
server's environment, so only it has a data directory (trained-models/, landing/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mlops_demo.core.common.locations import DAGSTER_HOMES, DEFAULT_DAGSTER_POSTGRES_URL
from mlops_demo.core.common.urls import is_postgres_url
from mlops_demo.devserver.dagster_dev import LOCATION, DagsterDev, DagsterDevError
from mlops_demo.devserver.processes import ProcessGroup, free_port

COMPONENTS = ("code-server", "webserver", "daemon")
DEFAULT_STORE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
READY_SECONDS = 120.0


class LocalDeployment:
    """The three processes of a Dagster deployment, each started, stopped or killed on its own."""

    def __init__(self, root: Path, web_port: int | None = None, code_port: int | None = None):
        self.root = root.resolve()
        self.web_port = web_port or free_port()
        self.code_port = code_port or free_port()
        self.processes: dict[str, ProcessGroup] = {}
        self.webserver = DagsterDev(home=self.root / "webserver", port=self.web_port)
        self.env = {
            **os.environ,
            "MLOPS_DAGSTER_POSTGRES_URL": os.environ.get("MLOPS_DAGSTER_POSTGRES_URL")
            or DEFAULT_DAGSTER_POSTGRES_URL,
            "MLOPS_STORE_URL": os.environ.get("MLOPS_STORE_URL") or DEFAULT_STORE_URL,
        }
        if not is_postgres_url(self.env["MLOPS_STORE_URL"]):
            raise DagsterDevError(
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
        self.processes[component] = ProcessGroup(
            self.command(component), cwd=self.folder(component), env=env, log=self.log(component)
        )

    def stop(self, component: str, timeout: float = 30.0) -> None:
        """SIGTERM the component's process group, then SIGKILL what is left of it."""
        group = self.processes.pop(component, None)
        if group is not None:
            group.stop(timeout)

    def kill(self, component: str) -> None:
        """SIGKILL, as a crash or an evicted container would end it."""
        self.processes.pop(component).kill()

    def wait_for_code_server(self, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        check = [sys.executable, "-m", "dagster", "api", "grpc-health-check",
                 "-h", "127.0.0.1", "-p", str(self.code_port)]  # fmt: skip
        while time.monotonic() < deadline:
            process = self.processes.get("code-server")
            if process is not None and process.exited():
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
