"""A test that needs ../shared/data/predictive_maintenance.csv skips with its reason where the
file is absent, and fails when CI=true: CI must never call a skipped check passing."""

import subprocess
import sys

from mlops_demo.core.common.locations import REPO_ROOT


def test_a_test_needing_the_reference_data_skips_without_it_but_fails_in_ci(tmp_path):
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/unit/model/test_training.py", "-k", "reference_split"]  # fmt: skip
    missing = {"MLOPS_REFERENCE_CSV": str(tmp_path / "absent.csv"), "PATH": "/usr/bin:/bin"}
    local = subprocess.run(command, cwd=REPO_ROOT, env=missing, capture_output=True, text=True)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout[-1000:]
    in_ci = subprocess.run(
        command, cwd=REPO_ROOT, env={**missing, "CI": "true"}, capture_output=True, text=True
    )
    assert in_ci.returncode == 1 and "CI must have it" in in_ci.stdout, in_ci.stdout[-1000:]
