"""How every subcommand reports a failure: one line, `error: ...`, on stderr, and exit code 1."""

import click


class CommandError(click.ClickException):
    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)
