"""Stopping cleanly on Ctrl+C and on SIGTERM, whatever disposition the process inherited.

A shell starts a background job (`cmd &`, nohup, many CI runners) with SIGINT ignored, and a
service manager stops a program with SIGTERM: either way the commands that start `dagster dev`
must still stop everything they started.
"""

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.devserver.dagster_dev import DagsterDevError

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


@contextmanager
def until_stopped(what: str, stop: Callable[[], None]) -> Iterator[None]:
    """Run the body, then `stop()` whatever happened: on Ctrl+C or SIGTERM it says so and exits
    with the signal's code, and a Dagster process that failed becomes one line, no traceback."""
    with stopping_on_signals():
        try:
            yield
        except Stopped as exc:
            click.echo(f"\ninterrupted ({exc.signal_name}): stopping {what}", err=True)
            sys.exit(exc.exit_code)
        except DagsterDevError as exc:
            raise CommandError(str(exc)) from None
        finally:
            stop()
