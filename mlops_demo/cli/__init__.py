"""The `mlops-demo` command: one entry point for everything that is not a Dagster run."""

import click

from mlops_demo.cli.deploy_local import deploy_local
from mlops_demo.cli.dev import dev
from mlops_demo.cli.ensure_broker import ensure_broker_command
from mlops_demo.cli.env_files import write_env_files
from mlops_demo.cli.errors import CommandError
from mlops_demo.cli.publish import publish
from mlops_demo.cli.reset import reset
from mlops_demo.cli.walkthrough import walkthrough
from mlops_demo.core.settings import SettingsError


class _Commands(click.Group):
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


for command in (walkthrough, dev, deploy_local, reset, ensure_broker_command, publish):
    main.add_command(command)
