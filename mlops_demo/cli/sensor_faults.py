"""`mlops-demo sensor-faults [--clear SENSOR|--clear-all]`: the sensor faults the drift check
found, and a person's way to end one.

A fault stays open, and the drift check fails on every batch, until the sensor steps back or a
person clears it here: once the sensor is repaired, or when the alarm was judged false. The
readings it touched stay marked, so training still leaves them out.
"""

from __future__ import annotations

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.core.messages.records import READING_FIELDS, UDI
from mlops_demo.core.messages.streams import READINGS
from mlops_demo.defs.resources import StorageResource, from_env


def _next_udi(storage: StorageResource) -> int:
    """The first reading still to come: a cleared fault touched every reading stored so far."""
    newest = storage.store(READINGS).read_range(READING_FIELDS, newest=1)
    return int(newest[UDI].max()) + 1 if len(newest) else 0


@click.command("sensor-faults")
@click.option("--clear", "sensor", metavar="SENSOR", help="end the open faults on this sensor, "
              "named as listed (for example 'Process temperature [K]')")  # fmt: skip
@click.option("--clear-all", is_flag=True, help="end every open fault")
def sensor_faults(sensor: str | None, clear_all: bool) -> None:
    """List the sensor faults the drift check found, or end the open ones once the sensor is
    repaired or the alarm judged false. The readings a fault touched stay marked: training
    leaves them out.

    \b
    Examples:
      mlops-demo sensor-faults
      mlops-demo sensor-faults --clear 'Process temperature [K]'
      mlops-demo sensor-faults --clear-all
    """
    storage = from_env(StorageResource)
    log = storage.sensor_faults()
    if sensor is None and not clear_all:
        faults = log.read()
        click.echo("\n".join(f.described() for f in faults) or "no sensor fault found")
        return
    ended = log.clear(None if clear_all else sensor, _next_udi(storage))
    if not ended:
        open_sensors = sorted({f.sensor for f in log.read() if f.is_open})
        raise CommandError(
            f"no open fault on {sensor!r}; open: {', '.join(open_sensors) or 'none'}"
            if sensor
            else "no open fault to clear"
        )
    for fault in ended:
        click.echo(f"cleared: {fault.described()}")
