"""Start, drive and stop a `dagster dev` of this project through its GraphQL API, as the UI does.

`dagster dev` runs a webserver, a daemon and a code server. It is started in its own session with
default signal handlers and stopped by signalling the whole process group, so nothing outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mlops_demo.core.settings import DEFAULT_DAGSTER_POSTGRES_URL, get_settings

# The code location's one name, whether started here, by `dagster dev`, `dg dev` or from
# mlops_demo/: sensor toggles and run history carry across them.
LOCATION = "mlops_demo"
WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"
REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"
READY_TIMEOUT_SECONDS = 120.0
_DAGSTER_PROGRAMS = ("dagster dev", "dagster_webserver", "dagster._daemon", "dagster-webserver")


class DagsterDevError(RuntimeError):
    """`dagster dev` did not start, answer or do what was asked; the text says which."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _restore_default_signals() -> None:
    # A non-interactive parent leaves SIGINT ignored; dagster dev must be able to hear it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def running_dagster_processes(home: Path) -> list[int]:
    """Pids of dagster dev, webserver or daemon processes using this Dagster home (Linux /proc)."""
    home_text = str(home.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not any(program in cmdline for program in _DAGSTER_PROGRAMS):
                continue
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if home_text in cmdline or f"DAGSTER_HOME={home_text}" in environ:
            found.append(int(entry.name))
    return found


class DagsterDev:
    def __init__(self, home: Path | None = None, port: int | None = None, log: Path | None = None):
        self.home = (home or get_settings().dagster_home).resolve()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log or self.home / "dagster_dev.log"
        self.process: subprocess.Popen | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        settings = get_settings()
        if not (self.home / "dagster.yaml").exists():
            profile = settings.dagster_home / "dagster.yaml"
            shutil.copy(profile, self.home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(self.home)}
        if settings.dagster_instance == "postgres":
            env.setdefault("MLOPS_DAGSTER_POSTGRES_URL", DEFAULT_DAGSTER_POSTGRES_URL)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(WORKSPACE),
                   "-h", "127.0.0.1", "-p", str(self.port)]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps writing after we return)
        # The home folder as working directory: it holds no .env to override DAGSTER_HOME.
        self.process = subprocess.Popen(
            command,
            cwd=self.home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_restore_default_signals,
        )
        log.close()

    @property
    def process_group(self) -> int:
        assert self.process is not None
        return self.process.pid  # start_new_session makes it the group leader

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DagsterDevError(
                    f"dagster dev exited with code {self.process.returncode}; see {self.log_path}"
                )
            try:
                data = self.graphql(
                    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                    "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
                )
            except DagsterDevError:
                time.sleep(0.5)
                continue
            entries = data["workspaceOrError"].get("locationEntries", [])
            for entry in entries:
                if entry["loadStatus"] == "LOADED":
                    error = entry["locationOrLoadError"]
                    if error and error["__typename"] == "PythonError":
                        raise DagsterDevError(
                            f"the code location failed to load: {error['message']}"
                        )
                    return
            time.sleep(0.5)
        raise DagsterDevError(
            f"dagster dev did not answer within {timeout:.0f} s; see {self.log_path}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left of it."""
        if self.process is None:
            return
        group = self.process_group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and group_alive(group):
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()

    # GraphQL -----------------------------------------------------------------------------

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise DagsterDevError(
                f"dagster dev rejected a GraphQL request ({exc.code}): {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DagsterDevError(f"dagster dev at {self.url} did not answer ({exc})") from None
        if answer.get("errors"):
            raise DagsterDevError(f"GraphQL error: {answer['errors'][0].get('message')}")
        return answer["data"]

    def _sensor_selector(self, name: str) -> dict:
        return {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "sensorName": name,
        }

    def ensure_sensor_running(self, name: str) -> str:
        """Start the sensor if it is stopped, as the toggle in the UI does; returns its status."""
        data = self.graphql(
            "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { __typename "
            "... on Sensor { sensorState { status } } ... on PythonError { message } } }",
            {"s": self._sensor_selector(name)},
        )["sensorOrError"]
        if data["__typename"] != "Sensor":
            raise DagsterDevError(f"sensor {name} is not in the code location ({data})")
        if data["sensorState"]["status"] == "RUNNING":
            return "RUNNING"
        started = self.graphql(
            "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename "
            "... on Sensor { sensorState { status } } ... on PythonError { message } } }",
            {"s": self._sensor_selector(name)},
        )["startSensor"]
        if started.get("__typename") != "Sensor":
            raise DagsterDevError(f"could not start sensor {name}: {started}")
        return started["sensorState"]["status"]

    def launch(
        self, job: str, assets: list[str] | None = None, run_config: dict | None = None
    ) -> str:
        """Launch a job (or assets through the implicit asset job) and return the run id."""
        selector: dict = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                          "jobName": job}  # fmt: skip
        if assets:
            selector["assetSelection"] = [{"path": [asset]} for asset in assets]
        data = self.graphql(
            "mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename "
            "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } "
            "... on RunConfigValidationInvalid { errors { message } } "
            "... on InvalidSubsetError { message } ... on Error { message } } }",
            {"p": {"selector": selector, "runConfigData": run_config or {}}},
        )["launchRun"]
        if data["__typename"] != "LaunchRunSuccess":
            details = data.get("message") or "; ".join(e["message"] for e in data.get("errors", []))
            raise DagsterDevError(f"could not launch {job}: {details or data['__typename']}")
        return data["run"]["runId"]

    def run_status(self, run_id: str) -> dict:
        return self.graphql(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { runId status startTime "
            "endTime jobName } } }",
            {"id": run_id},
        )["runOrError"]

    def wait_for_run(self, run_id: str, timeout: float = 300.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run_status(run_id)
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return run
            time.sleep(0.25)
        raise DagsterDevError(f"run {run_id[:8]} did not finish within {timeout:.0f} s")

    def run_timeline(self, run_id: str) -> dict[str, float]:
        """When the run was created (requested), launched (RUN_STARTING) and started (RUN_START),
        in seconds since the epoch."""
        data = self.graphql(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { creationTime startTime } } "
            "logsForRun(runId: $id) { ... on EventConnection { events { __typename "
            "... on RunStartingEvent { timestamp } } } } }",
            {"id": run_id},
        )
        starting = [float(e["timestamp"]) / 1000 for e in data["logsForRun"]["events"]
                    if e["__typename"] == "RunStartingEvent"]  # fmt: skip
        run = data["runOrError"]
        created = run["creationTime"]
        started = run["startTime"] or created
        return {"created": created, "launched": starting[0] if starting else started,
                "started": started}  # fmt: skip

    def failure_message(self, run_id: str) -> str:
        events = self.graphql(
            "query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { "
            "__typename ... on ExecutionStepFailureEvent { error { message } failureMetadata { "
            "label } } ... on RunFailureEvent { message } } } } }",
            {"id": run_id},
        )["logsForRun"]["events"]
        for event in events:
            if event["__typename"] == "ExecutionStepFailureEvent":
                return event["error"]["message"].strip() if event["error"] else "a step failed"
        return "the run failed"

    def materializations(self, asset: str, after: float = 0.0, limit: int = 1) -> list[dict]:
        """The newest materializations, newest first, each with its metadata as a plain dict."""
        data = self.graphql(
            "query($k: AssetKeyInput!, $after: String, $limit: Int) { assetOrError(assetKey: $k) "
            "{ ... on Asset { assetMaterializations(limit: $limit, afterTimestampMillis: $after) "
            f"{{ runId timestamp {_METADATA_ENTRIES} }} }} }} }}",
            {"k": {"path": [asset]}, "after": str(int(after * 1000)), "limit": limit},
        )["assetOrError"]
        return [
            {
                "run_id": event["runId"],
                "timestamp": float(event["timestamp"]) / 1000,
                "metadata": dict(_values(event["metadataEntries"])),
            }
            for event in data.get("assetMaterializations", [])
        ]

    def check_evaluations(self, asset: str, check: str, after: float = 0.0) -> list[dict]:
        """The check's evaluations stored after `after`, newest first: passed, severity,
        description and metadata as a plain dict."""
        executions = self.graphql(
            "query($k: AssetKeyInput!, $c: String!) { assetCheckExecutions(assetKey: $k, "
            "checkName: $c, limit: 5) { runId evaluation { timestamp success severity "
            f"description {_METADATA_ENTRIES} }} }} }}",
            {"k": {"path": [asset]}, "c": check},
        )["assetCheckExecutions"]
        return [
            {
                "run_id": execution["runId"],
                "timestamp": evaluation["timestamp"],
                "passed": evaluation["success"],
                "severity": evaluation["severity"],
                "description": evaluation["description"],
                "metadata": dict(_values(evaluation["metadataEntries"])),
            }
            for execution in executions
            if (evaluation := execution["evaluation"]) and evaluation["timestamp"] > after
        ]


_METADATA_ENTRIES = (
    "metadataEntries { label __typename "
    "... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } "
    "... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr } "
    "... on JsonMetadataEntry { jsonString } ... on PathMetadataEntry { path } "
    "... on TableMetadataEntry { table { records } } "
    "... on BoolMetadataEntry { boolValue } }"
)


def _values(entries: list[dict]) -> Iterator[tuple[str, object]]:
    for entry in entries:
        if "jsonString" in entry:
            yield entry["label"], json.loads(entry["jsonString"])
            continue
        if "table" in entry:
            yield entry["label"], [json.loads(record) for record in entry["table"]["records"]]
            continue
        for field in ("intValue", "floatValue", "boolValue", "text", "mdStr", "path"):
            if field in entry:
                yield entry["label"], entry[field]
                break


def group_alive(group: int) -> bool:
    """Whether any process of the process group is still there."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
