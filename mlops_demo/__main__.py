"""`python -m mlops_demo` runs the `mlops-demo` command."""

from mlops_demo.cli import main

main(prog_name="mlops-demo")
