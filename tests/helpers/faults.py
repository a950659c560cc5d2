"""The fault table the fault tests fill and pytest prints, the runner that injects a fault into a
real job run, and a pickle that proves it ran."""

import os
from pathlib import Path

RUNNER = Path(__file__).with_name("fault_runner.py")
FAULT_TABLE: list[tuple] = []


class Planted:
    """A pickle that, if ever loaded, leaves a marker file: proof that it ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
