"""Screenshots of the real Dagster UI for the README: `python docs/screenshots.py`.

Plays the walkthrough on private queues, a temporary data directory and Dagster home, keeps
`dagster dev` running, and has headless Chromium (Debian's `chromium` package) photograph the
sensor page, the asset graph, the metadata of production_model_candidates and
devices_at_risk, and the realized-F1 and drift checks (their metadata and plots) into
docs/images/. Not needed by the tests.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
PAGES = {
    "sensors.png": "/automation",
    "asset-graph.png": "/asset-groups",
    "ingestion-group.png": "/locations/mlops_demo/asset-groups/ingestion",
    "production-model-candidates.png": "/assets/production_model_candidates?view=events",
    "devices-at-risk.png": "/assets/devices_at_risk?view=events",
    "realized-f1-check.png": "/assets/deployed_model_performance?view=checks"
    "&checkDetail=deployed_model_performance_realized_f1_holds",
    "drift-check.png": "/assets/cleaned_readings?view=checks"
    "&checkDetail=cleaned_readings_resemble_training_data",
}
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=20000",
]  # fmt: skip


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("error: install Debian's chromium package first (apt-get install chromium)")
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="mlops_demo_screens_"))
    tag = uuid.uuid4().hex[:8]
    os.environ.update(
        MLOPS_DATA_DIR=str(scratch / "data"),
        MLOPS_READINGS_QUEUE=f"screens_{tag}_readings",
        MLOPS_STATUSES_QUEUE=f"screens_{tag}_statuses",
    )
    from mlops_demo.cli.dagster_dev import DagsterDev
    from mlops_demo.cli.walkthrough import Walkthrough
    from mlops_demo.core import broker
    from mlops_demo.core.settings import get_settings

    dev = DagsterDev(home=scratch / "home")
    try:
        Walkthrough(dev, batch=500).run(keep_running=True)
        dev.graphql("mutation { setNuxSeen }")  # the community pop-up would cover every page
        IMAGES.mkdir(exist_ok=True)
        for name, page in PAGES.items():
            profile = scratch / f"chromium-{name}"
            subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                 f"--screenshot={IMAGES / name}", dev.url + page],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            print(f"wrote {IMAGES / name}")
    finally:
        dev.stop()
        settings = get_settings()
        for queue in (settings.readings_queue, settings.statuses_queue):
            broker.delete_queue(settings.broker_url, queue)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
