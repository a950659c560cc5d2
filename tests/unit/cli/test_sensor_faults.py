"""`mlops-demo sensor-faults`: a person lists the faults the drift check found and ends one; the
readings it touched stay marked."""

import numpy as np
import pytest
from helpers.cli_runner import run_cli

from mlops_demo.core.messages.records import PROCESS_TEMPERATURE
from mlops_demo.core.monitoring import faults
from mlops_demo.defs.resources import StorageResource, from_env

OFFSET = faults.SensorFault(PROCESS_TEMPERATURE, faults.OFFSET, 2001, "stepped by -3.0", -3.0)


@pytest.fixture
def fault_log(monkeypatch, tmp_path) -> faults.FaultLog:
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLOPS_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    monkeypatch.delenv("MLOPS_STORE_URL", raising=False)
    log = from_env(StorageResource).sensor_faults()
    log.storage.write_file("sensor_faults.json", faults.to_json([OFFSET]))
    return log


def test_a_person_lists_the_open_fault_and_clears_it(fault_log):
    listed = run_cli("sensor-faults")
    assert listed.exit_code == 0 and listed.stdout == f"{OFFSET.described()}\n"
    assert "since UDI 2001" in listed.stdout

    refused = run_cli("sensor-faults", "--clear", "Air temperature [K]")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: no open fault on 'Air temperature [K]'; open: Process temperature [K]\n"
    )

    cleared = run_cli("sensor-faults", "--clear", PROCESS_TEMPERATURE)
    assert cleared.exit_code == 0 and cleared.stdout.startswith("cleared: Process temperature")
    [fault] = fault_log.read()
    # No reading stored after it began: it ends where it began, and stays on record.
    assert fault.ended_by == faults.CLEARED and fault.until_udi == OFFSET.since_udi
    assert not faults.touched([fault], np.arange(1990, 2010)).any()
    assert run_cli("sensor-faults", "--clear-all").stderr == "error: no open fault to clear\n"
