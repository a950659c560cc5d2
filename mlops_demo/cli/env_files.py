"""The `.env` files that give a plain `dagster` command the project's Dagster home.

Dagster's CLI reads `.env` from its working directory and lets it override the environment, and
python-dotenv can neither nest defaults nor name the file's own folder. So the files are written
by `mlops-demo` (every subcommand, the set-up command included) with this checkout's absolute
home as the default of `${DAGSTER_HOME:-...}`: an exported DAGSTER_HOME wins, and without one
`dagster` in the root or in `mlops_demo/` uses the project's home, with or without a shell.
"""

from pathlib import Path

from mlops_demo.core.common.durable import write_atomically
from mlops_demo.core.common.locations import DAGSTER_HOME, REPO_ROOT

ENV_FOLDERS = (REPO_ROOT, REPO_ROOT / "mlops_demo")
# Characters python-dotenv would read as the end of the value or of the default.
_UNSAFE = set('"}$\\\n')


def env_file_text(home: Path) -> str:
    return (
        "# Written by mlops-demo for this checkout; rewritten when it moves. To use another\n"
        "# Dagster home, export DAGSTER_HOME: it wins over the default below.\n"
        f'DAGSTER_HOME="${{DAGSTER_HOME:-{home}}}"\n'
    )


def write_env_files() -> list[Path]:
    """Write the files that are missing or out of date; returns those written. A checkout whose
    path python-dotenv cannot quote, or an installed (not checked-out) package, gets none."""
    if not (REPO_ROOT / "pyproject.toml").exists() or _UNSAFE & set(str(DAGSTER_HOME)):
        return []
    text = env_file_text(DAGSTER_HOME)
    written = []
    for folder in ENV_FOLDERS:
        path = folder / ".env"
        try:
            if path.read_text() == text:
                continue
        except FileNotFoundError:
            pass
        write_atomically(path, text.encode())
        written.append(path)
    return written
