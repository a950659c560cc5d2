"""Running the `mlops-demo` command in this process, as a user would type it."""

from click.testing import CliRunner, Result

from mlops_demo.cli import main


def run_cli(*args: str, stdin: str | None = None) -> Result:
    """The command's result: exit_code, stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), input=stdin, prog_name="mlops-demo")
