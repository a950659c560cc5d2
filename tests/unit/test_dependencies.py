"""Pipfile, Pipfile.lock and requirements.txt pin the same releases."""

import json
import re
import tomllib

from mlops_demo.core.common.locations import REPO_ROOT


def _lock_pins() -> dict[str, str]:
    lock = json.loads((REPO_ROOT / "Pipfile.lock").read_text())
    return {
        name.lower(): entry["version"].removeprefix("==")
        for section in ("default", "develop")
        for name, entry in lock[section].items()
        if "version" in entry
    }


def _requirements_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^;\s]+)", line)
        if match:
            pins[match.group(1).lower().split("[")[0]] = match.group(2)
    return pins


def test_requirements_and_lock_hold_the_same_pins():
    assert _requirements_pins() == _lock_pins()


def test_pipfile_pins_are_exact_and_locked():
    pipfile = tomllib.loads((REPO_ROOT / "Pipfile").read_text())
    locked = _lock_pins()
    for section in ("packages", "dev-packages"):
        for name, spec in pipfile[section].items():
            if isinstance(spec, dict):  # the project itself, installed editable
                continue
            assert spec.startswith("=="), f"{name} is not pinned exactly: {spec}"
            assert locked[name.lower()] == spec.removeprefix("=="), name


def test_dagster_packages_are_one_release_that_dagster_postgres_supports():
    pins = _lock_pins()
    assert pins["dagster"] == pins["dagster-webserver"] == pins["dagster-graphql"] == "1.13.27"
    assert pins["dagster-postgres"] == "0.29.27"


# Where a package's import name differs from its distribution's.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "psycopg2": "psycopg2-binary", "yaml": "pyyaml"}


def _third_party_imports() -> set[str]:
    import ast
    import sys

    names = set()
    for path in (REPO_ROOT / "mlops_demo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {
        DISTRIBUTIONS.get(name, name.replace("_", "-"))
        for name in names
        if name not in sys.stdlib_module_names and name != "mlops_demo"
    }


def test_pyproject_lists_every_package_the_code_imports():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    listed = set(pyproject["project"]["dependencies"])
    assert _third_party_imports() <= listed, _third_party_imports() - listed
    assert {"dagster-webserver", "dagster-postgres"} <= listed  # needed at run time, not imported
