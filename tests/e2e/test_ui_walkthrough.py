"""The README's walkthrough as a person clicks it: a real browser on a real `dagster dev`, fed by
the publish scripts. Each step asserts what the page shows and photographs it; with
MLOPS_SCREENSHOTS_DIR=docs/images the photographs become the README's pictures."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers.browser import VIEWPORT, DagsterUI, Terminal, chromium_path
from helpers.ci import absent
from helpers.runs import current_storage

from mlops_demo.devserver.dagster_dev import DagsterDev

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.e2e]

RUNNING_AUTOMATION = (
    "default_automation_condition_sensor",
    "min_number_of_machine_statuses_sensor",
    "min_number_of_readings_sensor",
    "deploy_promoted_model_sensor",
    "clean_up_dagster_history_schedule",
)
STOPPED_AUTOMATION = ("retrain_on_drift_or_decay_sensor", "train_ml_model_schedule")
GROUPS = ("ingestion", "model_training", "deployment", "inference", "monitoring")
MATERIALIZE = re.compile(r"Materialize$")  # the button; its icon adds to its name
MODEL = r"trained-models/model-[0-9TZ.]+\.pickle"
DRIFT_CHECK = "cleaned_readings_resemble_training_data"
REALIZED_F1_CHECK = "deployed_model_performance_realized_f1_holds"


@pytest.fixture
def chromium():
    path = chromium_path()
    if not path.exists():
        absent(f"no Chromium at {path} (apt-get install chromium, or set MLOPS_CHROMIUM)")
    return path


@pytest.fixture
def dagster_dev(env, tmp_path):
    dev = DagsterDev(home=tmp_path / "dagster_home")
    dev.start()
    try:
        dev.wait_until_ready()
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def ui(chromium, dagster_dev, tmp_path, request):
    from playwright.sync_api import sync_playwright

    screenshots = Path(os.environ.get("MLOPS_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    with sync_playwright() as playwright:
        # --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        failed_before = request.session.testsfailed
        person = DagsterUI(page, dagster_dev.url, screenshots)
        yield person
        if request.session.testsfailed > failed_before:
            print(f"what the page showed when the test failed: {person.shot('failed.png')}")
        browser.close()


# Each row of the Automation page: a selection box, the name, ..., the on/off toggle last.
_TOGGLES = """names => Object.fromEntries(names.map(name => {
  let row = [...document.querySelectorAll("span")].find(e => e.textContent.trim() === name);
  while (row.querySelectorAll("input[type=checkbox]").length < 2) row = row.parentElement;
  const boxes = row.querySelectorAll("input[type=checkbox]");
  return [name, boxes[boxes.length - 1].checked];
}))"""


def _sensors_run_and_say_why_they_skip(ui: DagsterUI, readings_queue: str) -> None:
    ui.open()
    ui.nav("Automation")
    every = RUNNING_AUTOMATION + STOPPED_AUTOMATION
    for name in every:
        ui.page.get_by_text(name, exact=True).wait_for()
    expected = {name: name in RUNNING_AUTOMATION for name in every}
    for _ in range(30):  # the toggles show their state once the page's queries answer
        toggles = ui.page.evaluate(_TOGGLES, list(expected))
        if toggles == expected:
            break
        ui.page.wait_for_timeout(1000)
    assert toggles == expected
    ui.shot("sensors.png")
    ui.page.get_by_text("min_number_of_readings_sensor", exact=True).click()
    ui.page.get_by_role("button", name="0 runs requested").first.click()
    dialog = ui.page.get_by_role("dialog")
    dialog.get_by_text("Skip reason").wait_for()
    reason = dialog.inner_text()
    assert f"Skip reason: queue '{readings_queue}' holds 0 messages; a run starts at 500" in reason
    ui.shot("sensor-skip-reason.png")
    ui.page.get_by_role("button", name="Close").click()


def _the_asset_graph_shows_the_groups(ui: DagsterUI) -> None:
    ui.nav("Lineage")
    for group in GROUPS:
        ui.page.get_by_text(group, exact=True).filter(visible=True).first.wait_for()
    ui.shot("asset-graph.png")


def _published_batches_are_stored(ui: DagsterUI, terminal: Terminal, asset: str, rows: str):
    answer = terminal.more()
    assert answer.startswith("published 500 "), answer
    ui.open_asset(asset)
    ui.wait_for(rf"Row count\s+{rows}\b", f"{asset} to show {rows} rows")
    return answer


def _materialize_from_the_asset_page(ui: DagsterUI, asset: str) -> None:
    ui.open_asset(asset)
    ui.launch(ui.page.get_by_role("button", name=MATERIALIZE))


def _train_from_the_jobs_page(ui: DagsterUI) -> None:
    ui.nav("Jobs")
    ui.page.get_by_text("train_ml_model", exact=True).click()
    ui.launch(ui.page.get_by_role("button", name="Materialize all"))


def _deploy_from_the_launchpad(
    ui: DagsterUI, model_name: str, deployed: str, force: bool = False, alone: bool = False
) -> None:
    """Jobs > deploy_model > Materialize all, or with `alone` the asset's own Materialize: both
    open the Launchpad, since model_name has no default."""
    if alone:
        ui.open_asset("deployed_model")
        ui.page.get_by_role("button", name=MATERIALIZE).click()
    else:
        ui.nav("Jobs")
        ui.page.get_by_text("deploy_model", exact=True).click()
        ui.page.get_by_role("button", name="Materialize all").click()
    config = f"      model_name: {model_name}\n" + ("      force: true\n" if force else "")
    dialog = ui.launchpad(f"ops:\n  deployed_model:\n    config:\n{config}")
    launch = dialog.get_by_role("button", name="Materialize")
    dialog.get_by_text("No errors").wait_for()
    if model_name != "previous":
        ui.shot("deployed-model-launchpad.png")
    ui.launch(launch)
    ui.open_asset("deployed_model")
    rollback = str(model_name == "previous").lower()
    ui.wait_for(
        ui.metadata_pattern("model_name", re.escape(deployed))
        + r"[\s\S]*"
        + ui.metadata_pattern("rollback", rollback),
        f"the deployment of {deployed}",
    )


def _the_picture_is_drawn(ui: DagsterUI, key: str, says: str, shot: str) -> None:
    picture = ui.show_picture(key, shot)
    # 750 px wide (core/pictures/canvas.py), decoded by the browser, captioned.
    assert picture["complete"] and picture["width"] == 750 and picture["height"] > 100, picture
    assert says in picture["caption"], picture["caption"]


def test_the_readme_walkthrough_click_by_click(ui, env, queues):
    # 2. Automation: the sensors run by default; a tick says why it skipped.
    _sensors_run_and_say_why_they_skip(ui, queues["readings"])
    _the_asset_graph_shows_the_groups(ui)

    # 3-4. The publish scripts, `more` typed in each: the sensors store every batch.
    readings = Terminal("publish_sensor_readings.sh")
    statuses = Terminal("publish_machine_statuses.sh")
    _published_batches_are_stored(ui, readings, "cleaned_readings", "500")
    assert "(UDI 501-1000)" in _published_batches_are_stored(
        ui, readings, "cleaned_readings", "1,000"
    )
    ui.shot("cleaned-readings.png")
    _published_batches_are_stored(ui, statuses, "cleaned_daily_statuses", "500")
    ui.open("/locations/mlops_demo/asset-groups/ingestion")
    ui.page.get_by_text("cleaned_daily_statuses").first.wait_for()
    ui.shot("ingestion-group.png")

    # 5. Materialize the join from its page.
    _materialize_from_the_asset_page(ui, "joined_cleaned_readings_and_statuses")
    ui.wait_for(ui.metadata_pattern("num_matches", "500"), "the join's num_matches")

    # 6. Jobs > train_ml_model > Materialize all; the candidates follow by themselves.
    _train_from_the_jobs_page(ui)
    ui.open_asset("trained_model")
    ui.wait_for(r"\nevaluation_picture\s*\n", "trained_model's picture")
    _the_picture_is_drawn(ui, "evaluation_picture", "Forward-chained", "evaluation-picture.png")
    ui.open_asset("production_model_candidates")
    first = ui.wait_for(
        ui.metadata_pattern("recommended_model", f"({MODEL})"), "the first candidate"
    ).group(1)
    ui.wait_for(rf"{re.escape(first)}\s+candidate\s", "the candidates table")
    assert "Could not parse record" not in ui.text()
    ui.shot("production-model-candidates.png")

    # 7-8. Deploy it from the deploy_model job's Launchpad, which scores devices_at_risk too.
    _deploy_from_the_launchpad(ui, first, first)
    ui.open_asset("devices_at_risk")
    ui.wait_for(ui.metadata_pattern("model_name", re.escape(first)), "devices_at_risk's scoring")
    ui.wait_for(ui.metadata_pattern("num_unknown", "500"), "the 500 readings without a status")
    at_risk = ui.wait_for(ui.metadata_pattern("devices_at_risk", r"\[([0-9,\s]*)\]"), "the UDIs")
    assert {int(udi) for udi in at_risk.group(1).split(",") if udi.strip()} <= set(range(501, 1001))
    ui.shot("devices-at-risk.png")
    # The riskiest machines, each with its failure mode, margin and action (an inline table).
    ui.wait_for(r"failure_mode[\s\S]*margin[\s\S]*action", "the riskiest table's columns")
    assert re.search(r"(overstrain|power|heat dissipation|tool wear)\s", ui.text())
    ui.page.get_by_text("riskiest", exact=True).first.scroll_into_view_if_needed()
    ui.shot("devices-at-risk-riskiest.png")
    # Its picture is drawn after the list is stored: an observation in the asset's Events.
    ui.open_asset("devices_at_risk", "events")
    ui.page.locator('[aria-label="observation"]').first.click()
    _the_picture_is_drawn(ui, "risk_picture", "riskiest machines", "risk-picture.png")

    # 9. More data, a second model through the gate, deployed, then rolled back.
    _published_batches_are_stored(ui, readings, "cleaned_readings", "1,500")
    _published_batches_are_stored(ui, statuses, "cleaned_daily_statuses", "1,000")
    _train_from_the_jobs_page(ui)
    ui.open_asset("production_model_candidates")
    second = ui.wait_for(
        ui.metadata_pattern("new_model", f"((?!{re.escape(first)}){MODEL})"), "the second model"
    ).group(1)
    status = ui.wait_for(
        ui.metadata_pattern("new_model_status", "(candidate|rejected|trained)"), "gate"
    )
    _the_picture_is_drawn(ui, "gate_picture", "champion", "gate-picture.png")
    _deploy_from_the_launchpad(ui, second, second, force=status.group(1) != "candidate")
    # The rollback from the asset's own Launchpad: the automation scores it.
    _deploy_from_the_launchpad(ui, "previous", first, alone=True)
    assert current_storage().registry().deployed_name() == first
    ui.open_asset("devices_at_risk")
    ui.wait_for(ui.metadata_pattern("model_name", re.escape(first)), "the rollback's scoring")

    # 10. Monitoring: statuses for the scored readings; then readings whose torque drifts.
    _published_batches_are_stored(ui, statuses, "cleaned_daily_statuses", "1,500")
    ui.open_asset("deployed_model_performance")
    ui.wait_for(ui.metadata_pattern("deployed_model", re.escape(first)), "realized performance")
    ui.wait_for(ui.metadata_pattern("waiting_predictions", "0"), "every prediction labelled")
    _the_picture_is_drawn(
        ui, "performance_picture", "realized precision", "performance-picture.png"
    )
    ui.open_asset("deployed_model_performance", f"checks&checkDetail={REALIZED_F1_CHECK}")
    ui.wait_for(
        r"Latest execution\s+(newest batch of \d+ labelled predictions|no verdict yet: the "
        r"newest labelled batch holds)",
        "the realized-F1 check's result",
    )
    ui.shot("realized-f1-check.png")

    readings.quit()
    drifting = Terminal(
        "publish_sensor_readings.sh", "-o", "1500", "--scenario", "torque-sensor-drift"
    )
    _published_batches_are_stored(ui, drifting, "cleaned_readings", "2,000")
    ui.open_asset("cleaned_readings", f"checks&checkDetail={DRIFT_CHECK}")
    # Torque (and what is made from it); the temperatures' wander since training is no alarm.
    ui.wait_for(r"drifted: [^\n]*Torque \[Nm\] mean 4\d\.\d -> 3\d\.\d", "the drift warning")
    ui.shot("drift-check.png")
    _the_picture_is_drawn(ui, "drift_picture", "Each test that fired", "drift-picture.png")
    drifting.quit()
    statuses.quit()
