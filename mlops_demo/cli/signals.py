"""Stopping cleanly on Ctrl+C and on SIGTERM, whatever disposition the process inherited.

A shell starts a background job (`cmd &`, nohup, many CI runners) with SIGINT ignored, and a
service manager stops a program with SIGTERM: either way the commands that start `dagster dev`
must still stop everything they started.
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """The user or a service manager asked the command to stop."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into Stopped; later ones wait for the clean-up."""
    received: list[int] = []

    def handler(signum: int, _frame) -> None:
        if not received:
            received.append(signum)
            raise Stopped(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, disposition in previous.items():
            signal.signal(signum, disposition)
