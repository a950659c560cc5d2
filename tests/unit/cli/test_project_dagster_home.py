"""The project's Dagster home on every route a plain `dagster` or `dg` command takes, and an
exported DAGSTER_HOME winning over it.

Every test that starts plain `dagster` on the project's own home lives in this file, which
`--dist loadfile` gives to one worker: on a fresh clone the first to start creates the home's
SQLite database, and two creating it at once leave it unreadable."""

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_demo.cli.env_files import ENV_FOLDERS, env_file_text, write_env_files
from mlops_demo.core.common.locations import DAGSTER_HOME, REPO_ROOT

DAGSTER = Path(sys.executable).parent / "dagster"


def _home_seen(cwd: Path, exported: Path | None = None) -> str:
    """The home `dagster instance info` reports, started without a shell: no PWD, and
    DAGSTER_HOME only when `exported`."""
    env = {"PATH": f"{DAGSTER.parent}:/usr/bin:/bin"}
    if exported:
        env["DAGSTER_HOME"] = str(exported)
    result = subprocess.run(
        [str(DAGSTER), "instance", "info"], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("$DAGSTER_HOME:")]
    return line.split(":", 1)[1].strip()


def test_mlops_demo_writes_both_files_once_with_this_checkouts_home():
    write_env_files()
    for folder in ENV_FOLDERS:
        assert (folder / ".env").read_text() == env_file_text(DAGSTER_HOME)
    assert write_env_files() == []  # up to date: nothing rewritten


@pytest.mark.parametrize("folder", ["", "mlops_demo"])
def test_plain_dagster_uses_the_project_home_from_the_root_and_the_package_without_a_shell(
    folder,
):
    write_env_files()
    assert _home_seen(REPO_ROOT / folder) == str(DAGSTER_HOME)


def test_an_exported_dagster_home_wins(tmp_path):
    write_env_files()
    assert _home_seen(REPO_ROOT, exported=tmp_path) == str(tmp_path)
    assert _home_seen(REPO_ROOT / "mlops_demo", exported=tmp_path) == str(tmp_path)


def _cli(command: list[str], cwd) -> subprocess.CompletedProcess:
    # As a program without a shell starts it: no PWD, no DAGSTER_HOME (the .env files give it).
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("folder", ["", "mlops_demo"])
def test_dagster_and_dg_validate_the_location_from_the_root_and_the_package_folder(folder):
    cwd = REPO_ROOT / folder
    result = _cli([sys.executable, "-m", "dagster", "definitions", "validate"], cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful for code location mlops_demo." in result.stdout + result.stderr
    result = _cli(["dg", "check", "defs"], cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All definitions loaded successfully." in result.stdout + result.stderr
