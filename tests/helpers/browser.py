"""A person at the Dagster UI (Playwright driving Debian's Chromium) and at the publish scripts.

Every wait reloads the page until what the person would look for is there, so a slow run or a
sensor's next tick only makes the test wait, and a failed wait saves what the page showed.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

from playwright.sync_api import Locator, Page

from mlops_demo.core.common.locations import REPO_ROOT

SCRIPTS = REPO_ROOT / "sensor_data"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Every screenshot is this size, so the README's pictures line up.
VIEWPORT = {"width": 1600, "height": 1000}
WAIT_SECONDS = 180.0


def chromium_path() -> Path:
    return Path(os.environ.get("MLOPS_CHROMIUM") or DEFAULT_CHROMIUM)


class Terminal:
    """A publish script in a terminal of its own: each `more` publishes the next 500."""

    def __init__(self, script: str, *args: str):
        self.process = subprocess.Popen(
            [str(SCRIPTS / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def more(self, timeout: float = 120.0) -> str:
        """Type `more`; returns the script's answer (`published 500 readings (UDI 1-500) ...`)."""
        assert self.process.stdin is not None
        self.process.stdin.write("more\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            if "published " in line or "error" in line:
                return line[line.index("published ") if "published " in line else 0 :].strip()

    def quit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(30)


class DagsterUI:
    """The Dagster UI in one browser tab, as a person clicks it."""

    def __init__(self, page: Page, url: str, screenshots: Path):
        self.page = page
        self.url = url
        self.screenshots = screenshots
        # Dagster's community pop-up covers the first page a new browser opens: skip it, as a
        # person would, whenever it shows.
        page.add_locator_handler(
            page.get_by_text("Join the Dagster community"),
            lambda _: page.get_by_role("button", name="Skip").click(),
        )

    def open(self, path: str = "/") -> None:
        self.page.goto(self.url + path)

    def nav(self, name: str) -> None:
        """A link of the left-hand navigation: Overview, Runs, Catalog, Jobs, Automation, ..."""
        self.page.locator("a", has_text=re.compile(f"^{name}$")).first.click()

    def open_asset(self, asset: str, tab: str = "") -> None:
        self.open(f"/assets/{asset}" + (f"?view={tab}" if tab else ""))

    def shot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / name
        self.page.screenshot(path=path)
        return path

    def text(self) -> str:
        return self.page.inner_text("body")

    def wait_for(self, pattern: str, what: str, timeout: float = WAIT_SECONDS) -> re.Match:
        """Reload until the page's text matches `pattern`; the match, or an AssertionError that
        names `what` and the screenshot of what the page showed instead."""
        deadline = time.monotonic() + timeout
        while True:
            self.page.wait_for_timeout(1500)  # the page's own queries answer first
            found = re.search(pattern, self.text())
            if found:
                return found
            if time.monotonic() > deadline:
                shown = self.shot(f"failed-{re.sub(r'[^a-z0-9]+', '-', what.lower())}.png")
                raise AssertionError(f"waited {timeout:.0f} s for {what}; the page: {shown}")
            self.page.reload()

    def launch(self, button: Locator) -> None:
        """Click a Materialize button and wait until the UI shows the run it launched, as a toast
        or (from a Launchpad) the run's page: a page left before that may never send the request."""
        button.click()
        toast = self.page.get_by_text("Launched run")
        deadline = time.monotonic() + 60
        while "/runs/" not in self.page.url and not toast.first.is_visible():
            assert time.monotonic() < deadline, (
                f"no run launched; the page: {self.shot('no-run.png')}"
            )
            self.page.wait_for_timeout(200)

    def show_picture(self, key: str, shot: str) -> dict:
        """Click [Show Markdown] in the metadata row `key`, as a person opens a picture; wait for
        the PNG to be drawn, take the screenshot `shot`, close the dialog. Returns the image's
        size and its caption as the page shows them."""
        row = self.page.locator("tr", has_text=key).first
        row.get_by_text("[Show Markdown]").click()
        dialog = self.page.get_by_role("dialog")
        image = dialog.locator('img[src^="data:image/png;base64,"]').first
        image.wait_for()
        drawn = image.evaluate(
            "i => ({complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})"
        )
        drawn["caption"] = dialog.inner_text()
        self.page.wait_for_timeout(500)  # the dialog fades in: a shot before shows it half drawn
        self.shot(shot)
        dialog.get_by_role("button", name="Close").click()
        return drawn

    def metadata_pattern(self, key: str, value: str) -> str:
        """A metadata row of an asset's overview: key, then its timestamp, then the value."""
        return rf"\n{re.escape(key)}\s*\n[^\n]*\n\s*{value}"

    def launchpad(self, yaml: str) -> Locator:
        """Replace the open Launchpad's config with `yaml`, as a paste does; returns the dialog."""
        dialog = self.page.get_by_role("dialog")
        editor = dialog.locator(".CodeMirror").first
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(yaml)
        return dialog
