"""Start, drive and stop a `dagster dev` of this project through its GraphQL API, as the UI does.

Runs are launched with dagster-graphql's own client; the queries it has no method for (sensor
state, metadata, check evaluations, run timelines) go through `graphql()`.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from mlops_demo.core.common.locations import (
    DAGSTER_HOMES,
    DEFAULT_DAGSTER_POSTGRES_URL,
    dagster_home,
    instance_kind,
)
from mlops_demo.devserver.processes import ProcessGroup, free_port

# The code location's one name, whether started here, by `dagster dev`, `dg dev` or from
# mlops_demo/: sensor toggles and run history carry across them.
LOCATION = "mlops_demo"
WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"
REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"
READY_TIMEOUT_SECONDS = 120.0
PHASES = ("tick wait", "queued", "start", "work")


class DagsterDevError(RuntimeError):
    """`dagster dev` did not start, answer or do what was asked; the text says which."""


def project_dagster_home(environ: Mapping[str, str] | None = None) -> Path:
    """The Dagster home of every route: an exported DAGSTER_HOME, else the project's own."""
    environ = os.environ if environ is None else environ
    return dagster_home(environ, instance_kind(environ))


def _launch_error(exc: DagsterGraphQLClientError) -> str:
    kind, body = exc.args[0], getattr(exc, "body", None)
    if isinstance(body, list):
        return "; ".join(str(error.get("message", error)) for error in body)
    return str(body or kind)


class DagsterDev:
    def __init__(
        self,
        home: Path | None = None,
        port: int | None = None,
        log: Path | None = None,
        workspace: Path = WORKSPACE,
    ):
        self.home = (home or project_dagster_home()).resolve()
        self.workspace = workspace
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log or self.home / "dagster_dev.log"
        self.group: ProcessGroup | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        kind = instance_kind(os.environ)
        if not (self.home / "dagster.yaml").exists():
            shutil.copy(DAGSTER_HOMES[kind] / "dagster.yaml", self.home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(self.home)}
        if kind == "postgres":
            env.setdefault("MLOPS_DAGSTER_POSTGRES_URL", DEFAULT_DAGSTER_POSTGRES_URL)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(self.workspace),
                   "-h", "127.0.0.1", "-p", str(self.port)]  # fmt: skip
        # The home folder as working directory: it holds no .env to override DAGSTER_HOME.
        self.group = ProcessGroup(command, cwd=self.home, env=env, log=self.log_path)

    @property
    def process_group(self) -> int:
        assert self.group is not None
        return self.group.pid

    def wait(self) -> int:
        """Until dagster dev exits by itself; its exit code."""
        assert self.group is not None
        return self.group.process.wait()

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.group is not None and self.group.exited():
                raise DagsterDevError(
                    f"dagster dev exited with code {self.group.process.returncode}; see "
                    f"{self.log_path}"
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
                error = entry["locationOrLoadError"]
                if (
                    entry["loadStatus"] == "LOADED"
                    and error
                    and error["__typename"] == "PythonError"
                ):
                    raise DagsterDevError(f"the code location failed to load: {error['message']}")
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                return
            time.sleep(0.5)
        raise DagsterDevError(
            f"dagster dev did not answer within {timeout:.0f} s; see {self.log_path}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left of it."""
        if self.group is not None:
            self.group.stop(timeout)

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
        self,
        job: str,
        assets: list[str] | None = None,
        run_config: dict | None = None,
        location: str = LOCATION,
    ) -> str:
        """Launch a job (or assets through the implicit asset job) and return the run id."""
        client = DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=30)
        try:
            return client.submit_job_execution(
                job,
                repository_location_name=location,
                repository_name=REPOSITORY,
                run_config=run_config or {},
                asset_selection=assets,
            )
        except DagsterGraphQLClientError as exc:
            raise DagsterDevError(f"could not launch {job}: {_launch_error(exc)}") from None

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

    def phases_until(self, since: float, event: dict) -> tuple[float, tuple[float, ...]]:
        """How long a materialization `event` came after `since` (a publish, a deployment), and
        that time in the phases of PHASES: until a tick requested its run, queued, the run's
        process starting, and its work."""
        run = self.run_timeline(event["run_id"])
        # `since` is when the publish command returned; its process may still have been exiting
        # when a tick had already created the run for the messages it sent.
        since = min(since, run["created"])
        marks = [since, run["created"], run["launched"], run["started"], event["timestamp"]]
        phases = tuple(max(later - earlier, 0.0) for earlier, later in itertools.pairwise(marks))
        return event["timestamp"] - since, phases

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
