"""`mlops-demo walkthrough`: the whole MLOps loop, headless.

It plays the classic UI walkthrough against a real `dagster dev` and the real broker: publish
readings and statuses with the publish scripts, let the sensors ingest them, train, let the
automation register candidates, deploy one with the Launchpad's run config, and watch
devices_at_risk refresh. Everything goes through dagster dev's GraphQL API, as the UI does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click
import pandas as pd

from mlops_demo.cli.errors import CommandError
from mlops_demo.cli.signals import until_stopped
from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.records import UDI
from mlops_demo.core.messages.streams import READINGS, STATUSES, Stream
from mlops_demo.core.transport import broker
from mlops_demo.defs.automation import DEFAULT_AUTOMATION_SENSOR
from mlops_demo.defs.deployment.assets import deployed_model, production_model_candidates
from mlops_demo.defs.deployment.jobs import deploy_model
from mlops_demo.defs.inference.assets import devices_at_risk
from mlops_demo.defs.ingestion.assets import READINGS_NAMES, STATUSES_NAMES
from mlops_demo.defs.ingestion.checks import RESEMBLE_TRAINING_DATA
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.monitoring.assets import deployed_model_performance
from mlops_demo.defs.monitoring.checks import REALIZED_F1_HOLDS
from mlops_demo.defs.resources import RabbitMQResource, StorageResource, from_env
from mlops_demo.defs.training.assets import joined_cleaned_readings_and_statuses, trained_model
from mlops_demo.defs.training.jobs import train_ml_model
from mlops_demo.devserver.dagster_dev import ASSET_JOB, PHASES, DagsterDev, DagsterDevError
from mlops_demo.devserver.processes import running_dagster_processes

SENSORS = (READINGS_NAMES.sensor, STATUSES_NAMES.sensor, DEFAULT_AUTOMATION_SENSOR)
STEPS = 9
DRIFT_SCENARIO = "torque-sensor-drift"
DRIFT_CHECK = RESEMBLE_TRAINING_DATA.name
REALIZED_F1_CHECK = REALIZED_F1_HOLDS.name
WAIT_SECONDS = 180.0
_PUBLISH_KINDS = {READINGS.name: "readings", STATUSES.name: "statuses"}
_INGESTION = {READINGS.name: READINGS_NAMES.cleaned, STATUSES.name: STATUSES_NAMES.cleaned}
# The names the walkthrough drives, as the definitions spell them.
TRAIN_JOB, DEPLOY_JOB = train_ml_model.name, deploy_model.name
(TRAINED, CANDIDATES, DEPLOYED, AT_RISK, PERFORMANCE, JOINED) = (
    asset.key.to_user_string()
    for asset in (
        trained_model,
        production_model_candidates,
        deployed_model,
        devices_at_risk,
        deployed_model_performance,
        joined_cleaned_readings_and_statuses,
    )
)


class StepFailed(RuntimeError):
    """A walkthrough step could not do what it says; the text is the reason."""


@dataclass(frozen=True)
class Freshness:
    """From an event (a publish, a deployment) to the data it caused being stored, in phases:
    until a tick requested the run, queued, the run's process starting, and its work."""

    name: str
    total: float
    phases: tuple[float, float, float, float]


@dataclass
class Timings:
    steps: list[tuple[str, float]] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)


class Walkthrough:
    def __init__(self, dev: DagsterDev, batch: int, say: Callable[[str], None] = print):
        self.dev = dev
        self.batch = batch
        self.say = say
        self.timings = Timings()
        self.storage = from_env(StorageResource)
        self.rabbitmq = from_env(RabbitMQResource)
        self.finished = False

    @contextmanager
    def step(self, number: int, title: str):
        self.say(f"\n[{number}/{STEPS}] {title}")
        started = time.monotonic()
        try:
            yield
        except (StepFailed, DagsterDevError, broker.BrokerUnavailable) as exc:
            raise StepFailed(f"step {number} ({title}) failed: {exc}") from None
        self.timings.steps.append((f"{number}. {title}", time.monotonic() - started))

    # Observing ---------------------------------------------------------------------------

    def _stored_udis(self, stream: Stream) -> set[int]:
        frame = self.storage.store(stream).read_frame((UDI,))
        return set(frame[UDI].tolist())

    def _wait(self, what: str, check: Callable[[], object], timeout: float = WAIT_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.25)
        raise StepFailed(f"waited {timeout:.0f} s for {what}")

    def _newest(self, asset: str, after: float) -> dict | None:
        found = self.dev.materializations(asset, after=after)
        return found[0] if found else None

    def _run(self, job: str, assets: list[str] | None = None, run_config: dict | None = None):
        run_id = self.dev.launch(job, assets, run_config)
        run = self.dev.wait_for_run(run_id)
        if run["status"] != "SUCCESS":
            raise StepFailed(
                f"run {run_id[:8]} ended {run['status']}: {self.dev.failure_message(run_id)}"
            )
        return run

    def _freshness(self, name: str, since: float, event: dict) -> Freshness:
        """Records how long `event` (a materialization) took after `since`, phase by phase."""
        measured = Freshness(name, *self.dev.phases_until(since, event))
        self.timings.freshness.append(measured)
        return measured

    # Acting ------------------------------------------------------------------------------

    def _publish(self, stream: Stream, offset: int, scenario: str | None) -> float:
        """`mlops-demo publish` the next batch, as a user would; returns when it was published."""
        command = [sys.executable, "-m", "mlops_demo", "publish", _PUBLISH_KINDS[stream.name],
                   "-n", str(self.batch), "-o", str(offset)]  # fmt: skip
        if scenario:
            command += ["--scenario", scenario]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise StepFailed(result.stderr.strip().splitlines()[-1])
        self.say(f"  {result.stdout.strip()}")
        return time.time()

    def publish_and_ingest(self, stream: Stream, scenario: str | None = None) -> dict:
        """Publish the next batch and wait for the sensor's run to store it; returns that
        materialization (its run and time), and records the data's freshness."""
        before = self._stored_udis(stream)
        queue = self.rabbitmq.queue_name(stream)
        waiting = self.rabbitmq.queue_depth(stream)
        if waiting:
            # Whatever they are (repeats, invalid bodies, new readings), they are drained with
            # the batch: only the batch's own readings are waited for.
            self.say(f"  note: queue {queue!r} already held {waiting} messages")
        offset = max(before, default=0)
        published_at = self._publish(stream, offset, scenario)
        published = set(range(offset + 1, offset + self.batch + 1))
        at_least = len(before | published)
        asset = _INGESTION[stream.name]

        def stored():
            event = self._newest(asset, after=published_at - 60)
            if event and event["metadata"].get("dagster/row_count", 0) >= at_least:
                return event
            return None

        event = self._wait(f"the sensor's run to store {at_least} {stream.name}", stored)
        rows = event["metadata"]["dagster/row_count"]
        missing = published - self._stored_udis(stream)
        if missing:
            raise StepFailed(
                f"{len(missing)} of the {self.batch} published {stream.name} are not in the "
                f"store (UDI {min(missing)} first); see {asset}'s quarantine"
            )
        freshness = self._freshness(
            f"{stream.name} published -> stored ({rows} rows)", published_at, event
        ).total
        self.say(
            f"  the sensor ingested them: {asset} holds {rows} rows "
            f"({freshness:.1f} s after publishing)"
        )
        return event

    def train_and_wait_for_candidates(self) -> dict:
        run = self._run(TRAIN_JOB)
        model = self._newest(TRAINED, after=run["startTime"] - 1)
        scores = {
            k: model["metadata"][k]
            for k in ("precision", "recall", "f1", "roc_auc")
            if k in model["metadata"]
        }
        self.say("  trained_model, on the newest 30 %: "
                 + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))  # fmt: skip
        meta = model["metadata"]
        if "forward_chained_f1" in meta:
            self.say(f"  forward-chained: F1 {meta['forward_chained_f1']:.3f} (95 % interval "
                     f"{meta['forward_chained_f1_interval']}), the documented rules "
                     f"{meta['rules_f1']:.3f} on the same rows; expected calibration error "
                     f"{meta['expected_calibration_error']:.4f}")  # fmt: skip
        candidates = self._wait(
            "production_model_candidates to be materialized by the automation sensor",
            lambda: self._newest(CANDIDATES, after=run["endTime"] - 1),
        )["metadata"]
        models = candidates["num_candidates"]
        self.say(
            "  production_model_candidates materialized by itself "
            f"({models} model{'' if models == 1 else 's'}, each with its status):"
        )
        table = pd.DataFrame(candidates["candidates"]).fillna("")
        for line in table.to_string(index=False).splitlines():
            self.say("    " + line)
        self.say(f"  recommended: {candidates['recommended_model']}")
        return {"scores": scores, **candidates}

    def deploy_and_wait_for_devices_at_risk(
        self, model_name: str, force: bool = False, expected_model: str | None = None
    ) -> dict:
        """Deploy as the deploy_model job's Launchpad does: the same run scores the readings."""
        config = {"model_name": model_name, **({"force": True} if force else {})}
        self.say("  Jobs > deploy_model > Materialize all, Launchpad config:\n    ops:\n"
                 "      deployed_model:\n        config:\n"
                 + "".join(f"          {k}: {str(v).lower() if v is True else v}\n"
                           for k, v in config.items()).rstrip())  # fmt: skip
        launched_at = time.time()
        run = self._run(DEPLOY_JOB, run_config={"ops": {DEPLOYED: {"config": config}}})
        deployed = self._newest(DEPLOYED, after=launched_at - 1)["metadata"]
        expected_model = expected_model or model_name
        if deployed["model_name"] != expected_model:
            raise StepFailed(f"deployed {deployed['model_name']}, expected {expected_model}")
        self.say(f"  deployed {deployed['model_name']} (previous: {deployed['previous_model']}, "
                 f"forced: {deployed['forced']}, rollback: {deployed['rollback']})")  # fmt: skip
        event = self._newest(AT_RISK, after=launched_at - 1)
        if event is None or event["run_id"] != run["runId"]:
            raise StepFailed("the deploy_model run did not score devices_at_risk")
        meta = event["metadata"]
        # A run with every status in has nothing to score: its row says it ran, not scored.
        done = "scored" if meta["num_unknown"] else "ran (none unknown)"
        freshness = self._freshness(f"deployment -> devices_at_risk {done}", launched_at, event)
        if not meta["num_unknown"]:
            # Every reading has its status: "0 machines ..., 0 at risk" would read as a failure.
            self.say(f"  devices_at_risk ran in the same run, {freshness.total:.1f} s after the "
                     f"launch: {meta['note']}")  # fmt: skip
            return meta
        self.say(f"  devices_at_risk scored in the same run, {freshness.total:.1f} s after the "
                 f"launch: {meta['num_unknown']} machines' status is unknown; "
                 f"{meta['num_scored']} scored, {meta['num_refused']} refused (outside what the "
                 f"model was trained on); {meta['num_at_risk']} at risk")  # fmt: skip
        self.say(f"  UDIs at risk: {meta['devices_at_risk']}")
        if meta.get("shadow_scored"):
            self.say(f"  shadow: {meta['shadow_model']} scored the same {meta['shadow_scored']} "
                     "readings beside it, logged as shadow")  # fmt: skip
        for row in meta["riskiest"]:
            if row["at_risk"]:
                self.say(f"    UDI {row['UDI']} ({row['product_id']}), probability "
                         f"{row['failure_probability']:.2f}: {row['failure_mode']}, "
                         f"{row['margin']} -> {row['action']}")  # fmt: skip
        return meta

    def retrain_through_the_gate(self) -> dict:
        """Retrain, show the gate's verdict, and deploy the new model (forced if the gate did
        not promote it)."""
        second = self.train_and_wait_for_candidates()
        forced = second["new_model_status"] != "candidate"
        self.say(f"  the gate: {second['new_model']} is {second['new_model_status']} "
                 f"({second['gate']})")  # fmt: skip
        if forced:
            self.say("  deploying it anyway needs force: true, and is recorded as forced")
        second["devices_at_risk"] = self.deploy_and_wait_for_devices_at_risk(
            second["new_model"], force=forced
        )
        return second

    # Monitoring --------------------------------------------------------------------------

    def _performance_after(self, stored_at: float) -> dict:
        """deployed_model_performance as the automation refreshes it once every scored reading
        stored before `stored_at` has its status."""

        def labelled():
            event = self._newest(PERFORMANCE, after=stored_at - 1)
            if event and event["metadata"].get("waiting_predictions") == 0:
                return event["metadata"]
            return None

        meta = self._wait("deployed_model_performance to follow the statuses", labelled)
        self.say(f"  deployed_model_performance of {meta['deployed_model']} (test F1 "
                 f"{_score(meta['test_f1'])}): realized F1 {_score(meta['realized_f1'])} over "
                 f"{meta['labelled_predictions']} labelled predictions, last batch "
                 f"{_score(meta['last_batch_f1'])} over {meta['last_batch_labelled']}; caught "
                 f"{meta['failures_caught']}, missed {meta['failures_missed']}, false alarms "
                 f"{meta['false_alarms']}")  # fmt: skip
        if meta.get("shadow_model", "none") != "none":
            self.say(f"  the gate on live evidence: {meta['shadow_model']} is "
                     f"{meta['shadow_status']} ({meta['shadow_verdict']})")  # fmt: skip
        return meta

    def _drift_check_of(self, ingestion: dict) -> dict:
        """The drift check's evaluation in the ingestion run that stored `ingestion`: it lands a
        moment after the materialization, so an earlier run's would otherwise be taken."""
        evaluation = self._wait(
            "the drift check of the ingestion run",
            lambda: next((e for e in self.dev.check_evaluations(
                READINGS_NAMES.cleaned, DRIFT_CHECK, after=ingestion["timestamp"] - 60)
                if e["run_id"] == ingestion["run_id"]), None),
        )  # fmt: skip
        self.say(f"  {DRIFT_CHECK}: {'passed' if evaluation['passed'] else 'WARNING'}: "
                 f"{evaluation['description']}")  # fmt: skip
        tests = evaluation["metadata"].get("tests", [])
        self.say(f"    {len(tests)} tests; the ones that fired after Holm's correction:")
        for row in tests:
            if row["drifted"]:
                self.say(f"    {row['test']} / {row['feature']} (p={row['p_value']:.2g}): "
                         f"{row['detail']}")  # fmt: skip
        return evaluation

    def drift_and_realized_performance(self) -> dict:
        """The statuses of the scored readings; a model trained on all of it; then readings
        from drifting torque sensors and their statuses: the drift check fires, and the new
        model's realized performance falls short of its test score."""
        before = self._performance_after(self.publish_and_ingest(STATUSES)["timestamp"])
        retrained = self.retrain_through_the_gate()
        drifted = self.publish_and_ingest(READINGS, scenario=DRIFT_SCENARIO)
        stored_at = drifted["timestamp"]
        drift = self._drift_check_of(drifted)
        if drift["passed"]:
            raise StepFailed(f"the drift check did not flag the {DRIFT_SCENARIO} readings")

        def scored_them():
            # A run that read the stores before the drifted readings landed can end after them:
            # only one that saw them as unknown has scored them (or refused them, with reasons).
            event = self._newest(AT_RISK, after=stored_at - 1)
            if event and event["metadata"].get("num_unknown", 0) >= self.batch:
                return event
            return None

        self._wait("devices_at_risk to score the drifted readings", scored_them)
        labelled_at = self.publish_and_ingest(STATUSES)["timestamp"]
        after = self._performance_after(labelled_at)
        # After the statuses, not the readings: scoring them also runs the check, on old labels.
        verdict = self._wait(
            "the realized-F1 check",
            lambda: next(iter(self.dev.check_evaluations(
                PERFORMANCE, REALIZED_F1_CHECK, after=labelled_at)), None),
        )  # fmt: skip
        self.say(f"  {REALIZED_F1_CHECK}: {'passed' if verdict['passed'] else 'WARNING'}: "
                 f"{verdict['description']}")  # fmt: skip
        return {"before": before, "model": retrained["new_model"], "drift": drift,
                "after": after, "verdict": verdict}  # fmt: skip

    # The walkthrough ---------------------------------------------------------------------

    def run(self, keep_running: bool) -> None:
        with self.step(1, "start dagster dev and make sure the sensors run"):
            self.dev.start()
            self.say(f"  dagster dev (process group {self.dev.process_group}) at {self.dev.url}, "
                     f"Dagster home {self.dev.home}")  # fmt: skip
            self.dev.wait_until_ready()
            for sensor in SENSORS:
                self.say(f"  {sensor}: {self.dev.ensure_sensor_running(sensor)}")
        with self.step(2, f"publish {self.batch} readings twice; the sensor ingests each batch"):
            self.publish_and_ingest(READINGS)
            self.publish_and_ingest(READINGS)
        with self.step(3, f"publish {self.batch} statuses; join them with the readings"):
            self.publish_and_ingest(STATUSES)
            self._run(ASSET_JOB, [JOINED])
            joined = self._newest(JOINED, after=0)["metadata"]
            expected = len(self._stored_udis(READINGS) & self._stored_udis(STATUSES))
            if joined["num_matches"] != expected:
                raise StepFailed(f"num_matches is {joined['num_matches']}, expected {expected}")
            self.say(
                f"  joined_cleaned_readings_and_statuses: num_matches = {joined['num_matches']}"
            )
        with self.step(4, "train the model (job train_ml_model); candidates follow by themselves"):
            first = self.train_and_wait_for_candidates()
        with self.step(5, "deploy the recommended candidate from the Launchpad"):
            before = self.deploy_and_wait_for_devices_at_risk(first["recommended_model"])
        with self.step(6, f"publish {self.batch} more statuses and readings, retrain: the gate"):
            self.publish_and_ingest(STATUSES)
            self.publish_and_ingest(READINGS)
            second = self.retrain_through_the_gate()
            self._compare(first, before, second, second["devices_at_risk"])
        with self.step(7, "roll back to the previous model (model_name: previous)"):
            self.deploy_and_wait_for_devices_at_risk(
                "previous", expected_model=first["recommended_model"]
            )
        with self.step(8, "retrain on every status; then the torque sensors drift"):
            self.drift_and_realized_performance()
        with self.step(9, "finish"):
            if keep_running:
                self.say(f"  dagster dev keeps running at {self.dev.url} "
                         f"(stop it with: kill -TERM -{self.dev.process_group})")  # fmt: skip
            else:
                self.dev.stop()
                self.say("  stopped dagster dev and everything it started")
            self.say(UI_GUIDE)

    def _compare(self, first: dict, before: dict, second: dict, after: dict) -> None:
        for name in ("precision", "recall", "f1", "roc_auc"):
            if name in first["scores"] and name in second["scores"]:
                self.say(f"  {name}: {first['scores'][name]:.3f} -> {second['scores'][name]:.3f}")
        old, new = set(before["devices_at_risk"]), set(after["devices_at_risk"])
        self.say(f"  machines at risk: {len(old)} -> {len(new)}")
        self.say(f"  newly flagged {sorted(new - old)}; no longer flagged {sorted(old - new)}")

    def _freshness_summary(self) -> list[str]:
        stored = [f.total for f in self.timings.freshness if "published -> stored" in f.name]
        scored = [f.total for f in self.timings.freshness if f.name.startswith("deployment")]
        lines = []
        if stored:
            median, slowest = statistics.median(stored), max(stored)
            lines.append(
                f"published -> stored: median {median:.1f} s, slowest {slowest:.1f} s, "
                f"over {len(stored)} batches"
            )
        if scored:
            lines.append(
                f"deployment -> devices_at_risk: fastest {min(scored):.1f} s, slowest "
                f"{max(scored):.1f} s, over {len(scored)} deployments"
            )
        return lines

    def report(self) -> str:
        lines = ["", "Step timings", f"{'step':<70} {'seconds':>8}"]
        lines += [f"{name:<70} {seconds:>8.1f}" for name, seconds in self.timings.steps]
        lines += ["", "Freshness (seconds)", f"{'':<48} {'total':>6}"
                  + "".join(f" {phase:>9}" for phase in PHASES)]  # fmt: skip
        for fresh in self.timings.freshness:
            lines.append(f"{fresh.name:<48} {fresh.total:>6.1f}"
                         + "".join(f" {phase:>9.1f}" for phase in fresh.phases))  # fmt: skip
        lines += self._freshness_summary()
        return "\n".join(lines)


def _score(value: float | None) -> str:
    # An undefined score (nothing to catch) is NaN in metadata, and null through GraphQL.
    return "n/a" if value is None or value != value else f"{value:.3f}"


# The UI tour is written once, in the README; the browser test clicks it step by step.
UI_GUIDE = (
    "Where each step shows in the UI: README.md, 'The walkthrough in the Dagster UI' "
    f"({REPO_ROOT / 'README.md'})"
)


@click.command()
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True,
              help="messages per publish")  # fmt: skip
@click.option("--keep-running", is_flag=True, help="leave dagster dev up afterwards")
@click.option("--port", type=int, help="webserver port (default: a free one)")
@click.option("--dagster-home", type=click.Path(path_type=Path), hidden=True)
def walkthrough(
    batch: int, keep_running: bool, port: int | None, dagster_home: Path | None
) -> None:
    """Play the whole MLOps loop headless against a real `dagster dev` and the real broker, as
    the README's UI walkthrough does by hand: publish readings and statuses, let the sensors
    ingest them, train, let the automation register candidates, deploy one with the Launchpad's
    run config and watch devices_at_risk refresh. Prints each step and a timing table; Ctrl+C
    stops everything it started.

    \b
    Examples:
      mlops-demo walkthrough
      mlops-demo walkthrough --batch 200 --keep-running   # then look around in the UI
    """
    dev = DagsterDev(home=dagster_home, port=port)
    running = running_dagster_processes(dev.home)
    if running:
        pids = ", ".join(map(str, running))
        raise CommandError(
            f"a dagster dev of this project is already running on {dev.home} (pids {pids}); "
            "stop it first, or use its UI."
        )
    if batch < from_env(IngestionSettings).min_batch:
        # The sensors wait for a full batch: let them start at the walkthrough's batch size.
        os.environ["MLOPS_MIN_BATCH"] = str(batch)
    tour = Walkthrough(dev, batch)
    queues = f"{tour.rabbitmq.readings_queue!r} and {tour.rabbitmq.statuses_queue!r}"
    click.echo(f"The MLOps loop, headless: data in {tour.storage.data_path}, queues {queues}.")

    def finish() -> None:
        if not (tour.finished and keep_running):
            tour.dev.stop()
        click.echo(tour.report())

    with until_stopped("dagster dev", finish):
        try:
            tour.run(keep_running)
        except StepFailed as exc:
            raise CommandError(str(exc)) from None
        tour.finished = True
