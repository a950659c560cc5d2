"""The three layers hold: `core/` never imports Dagster, directly or through another module, and
no module reaches into Dagster's private `dagster._` packages."""

import ast
import pkgutil
import subprocess
import sys

import mlops_demo
import mlops_demo.core
from mlops_demo.core.common.locations import REPO_ROOT

FIRST_TO_IMPORT_DAGSTER = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "dagster" in sys.modules:
        print(name)
        break
"""


def _modules(package) -> list[str]:
    return [
        module.name
        for module in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + ".")
    ]


# The stages of core/, lowest first: a module may import its own stage and the stages below it,
# never one above (backends.py, which picks a store and a registry storage, sits on top).
CORE_LAYERS = (
    "common",
    "messages",
    "plant",
    "transport",
    "storage",
    "model",
    "registry",
    "monitoring",
    "pictures",
    "backends",
)


def _stage(module: str) -> str:
    return module.removeprefix("mlops_demo.core.").split(".")[0]


def test_core_is_split_into_the_stage_folders_and_nothing_else():
    stages = {_stage(name) for name in _modules(mlops_demo.core)}
    assert stages == set(CORE_LAYERS)


def test_no_core_module_imports_a_stage_above_its_own():
    upward = {}
    for module in _modules(mlops_demo.core):
        path = REPO_ROOT / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = path.with_suffix("") / "__init__.py"
        level = CORE_LAYERS.index(_stage(module))
        above = sorted(
            name
            for name in _imported_modules(path)
            if name.startswith("mlops_demo.core.") and CORE_LAYERS.index(_stage(name)) > level
        )
        if above:
            upward[module] = above
    assert upward == {}


def test_no_core_module_imports_dagster_even_indirectly():
    modules = _modules(mlops_demo.core)
    result = subprocess.run(
        [sys.executable, "-c", FIRST_TO_IMPORT_DAGSTER, *modules],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{result.stdout.strip()} imports dagster"


def _private_dagster_imports(path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dagster._"):
            found.append(node.module)
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("dagster._")]
    return found


def test_nothing_imports_from_dagster_private_modules():
    paths = [
        *(REPO_ROOT / "mlops_demo").rglob("*.py"),
        *(REPO_ROOT / "tests").rglob("*.py"),
        *(REPO_ROOT / "bench").rglob("*.py"),
    ]
    offenders = {str(p.relative_to(REPO_ROOT)): _private_dagster_imports(p) for p in paths}
    assert {path: names for path, names in offenders.items() if names} == {}


HEAVY_LOADED = """
import sys
import mlops_demo.definitions
heavy = ("pandas", "sklearn", "scipy", "joblib", "matplotlib")
print(",".join(sorted(m for m in heavy if m in sys.modules)))
"""


def test_loading_the_definitions_leaves_the_heavy_libraries_to_the_steps_using_them():
    # Every run imports the definitions in a fresh process before its first step: scikit-learn
    # and SciPy add about a second to each, pandas about 0.3 s, joblib's process pool 0.1 s
    # (docs/benchmarks.md, run start); training, scoring, monitoring, the drift check and the
    # registry's model files import them when they run, and only the steps that draw a picture
    # import matplotlib.
    result = subprocess.run(
        [sys.executable, "-c", HEAVY_LOADED], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _reads_the_environment(path) -> list[int]:
    """Lines that touch os.environ or os.getenv."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


def test_only_the_resources_factory_reads_the_environment_in_core_and_defs():
    package = REPO_ROOT / "mlops_demo"
    readers = {
        str(path.relative_to(package)): lines
        for folder in ("core", "defs")
        for path in (package / folder).rglob("*.py")
        if (lines := _reads_the_environment(path))
    }
    assert list(readers) == ["defs/resources.py"], readers
    assert len(readers["defs/resources.py"]) == 1, "one read, in from_env"


def _imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


# The tests of the commands, which may import them; every other test and benchmark drives
# Dagster and the stores through core/, defs/ and devserver/.
COMMAND_TESTS = {"tests/helpers/cli_runner.py", "tests/e2e/test_deploy_local.py"}


def _tests_the_commands(path) -> bool:
    return "cli" in path.relative_to(REPO_ROOT).parts or (
        str(path.relative_to(REPO_ROOT)) in COMMAND_TESTS
    )


def test_tests_and_benchmarks_other_than_the_commands_tests_never_import_the_commands():
    paths = [*(REPO_ROOT / "tests").rglob("*.py"), *(REPO_ROOT / "bench").rglob("*.py")]
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(
            name for name in _imported_modules(path) if name.startswith("mlops_demo.cli")
        )
        for path in paths
        if not _tests_the_commands(path)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_commands_import_the_commands():
    package = REPO_ROOT / "mlops_demo"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if (package / "cli") not in path.parents
        and path.name != "__main__.py"
        and any(name.startswith("mlops_demo.cli") for name in _imported_modules(path))
    ]
    assert offenders == []
