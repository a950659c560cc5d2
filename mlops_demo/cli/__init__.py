"""The `mlops-demo` command: one entry point for everything that is not a Dagster run."""

import importlib

import click

from mlops_demo.cli.env_files import write_env_files
from mlops_demo.cli.errors import CommandError
from mlops_demo.core.common.choices import SettingsError

# Each subcommand is imported when it runs: `publish`, which the publish scripts call, then
# never loads the walkthrough's GraphQL client.
COMMANDS = {
    "walkthrough": "mlops_demo.cli.walkthrough:walkthrough",
    "dev": "mlops_demo.cli.dev:dev",
    "deploy-local": "mlops_demo.cli.deploy_local:deploy_local",
    "reset": "mlops_demo.cli.reset:reset",
    "ensure-broker": "mlops_demo.cli.ensure_broker:ensure_broker_command",
    "publish": "mlops_demo.cli.publish:publish",
    "sensor-faults": "mlops_demo.cli.sensor_faults:sensor_faults",
}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)

    def invoke(self, ctx: click.Context):
        # A setting we cannot use is the person's to fix: one line saying which, no traceback.
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise CommandError(str(exc)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run the predictive-maintenance MLOps demo: publish sensor data, play the whole loop, start
    Dagster on the project's own instance, or reset everything. Settings come from MLOPS_*
    environment variables (see the README).

    \b
    Examples:
      mlops-demo ensure-broker && mlops-demo walkthrough
      mlops-demo publish readings --interactive
      mlops-demo <command> --help
    """
    write_env_files()
    # Every setting, not only the command's own: the code location would refuse the same value.
    from mlops_demo.defs.resources import check_every_setting

    check_every_setting()
