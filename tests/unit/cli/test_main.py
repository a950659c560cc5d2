"""The one `mlops-demo` command: installed as a console script, the same as `python -m mlops_demo`,
and every subcommand explains itself with an example."""

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli_runner import run_cli

SUBCOMMANDS = (
    "walkthrough", "dev", "deploy-local", "reset", "ensure-broker", "publish", "sensor-faults"
)  # fmt: skip


def test_the_console_script_and_python_m_list_the_same_subcommands():
    script = Path(sys.executable).parent / "mlops-demo"
    outputs = [
        subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
        for command in ([str(script), "--help"], [sys.executable, "-m", "mlops_demo", "--help"])
    ]
    assert outputs[0] == outputs[1].replace("Usage: mlops-demo", "Usage: mlops-demo")
    listed = outputs[0].split("Commands:")[1].split()
    assert set(SUBCOMMANDS) <= set(listed)


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_each_subcommand_has_help_with_an_example(subcommand):
    result = run_cli(subcommand, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"mlops-demo {subcommand}" in result.stdout


def test_an_unknown_subcommand_is_a_usage_error():
    result = run_cli("train")
    assert result.exit_code == 2 and "No such command 'train'" in result.stderr


def test_a_setting_that_cannot_be_used_is_one_line_not_a_traceback(monkeypatch):
    monkeypatch.setenv("MLOPS_QUEUE_TYPE", "stream")
    result = run_cli("publish", "readings", "-n", "1")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: MLOPS_QUEUE_TYPE input should be 'classic' or 'quorum', got 'stream'\n"
    )
    monkeypatch.delenv("MLOPS_QUEUE_TYPE")
    monkeypatch.setenv("MLOPS_MIN_F1", "2")
    result = run_cli("reset", "--yes")
    assert result.exit_code == 1
    assert result.stderr == "error: MLOPS_MIN_F1 input should be less than or equal to 1, got '2'\n"
