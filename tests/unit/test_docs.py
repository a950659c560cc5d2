"""The docs name only what exists: every module, file, function, class and MLOPS_* variable that
the README and docs/ put in code font is found in the project, so a rename that leaves a doc
behind fails here."""

import re
from pathlib import Path

import dagster as dg
import pytest

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.defs.resources import (
    SETTINGS_CLASSES,
    STAGE_SETTINGS,
    CodeLocationSettings,
    RabbitMQResource,
    StorageResource,
    variable,
)

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SOURCES = [
    *(REPO_ROOT / "mlops_demo").rglob("*.py"),
    *(REPO_ROOT / "tests").rglob("*.py"),
    *(REPO_ROOT / "bench").rglob("*.py"),
    *(REPO_ROOT / "deploy").iterdir(),
    *(REPO_ROOT / "sensor_data").iterdir(),
    REPO_ROOT / ".ci" / "run",
    REPO_ROOT / "pyproject.toml",
    REPO_ROOT / ".dagster_home" / "dagster.yaml",
    REPO_ROOT / ".dagster_home_postgres" / "dagster.yaml",
]
CODE = "\n".join(path.read_text() for path in SOURCES if path.is_file() and path != Path(__file__))
WORDS = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", CODE))
# Folders a doc's path may start from: the repository root, the package, or (for Dagster's own
# source) the folder Dagster is installed in.
ROOTS = (REPO_ROOT, REPO_ROOT / "mlops_demo", Path(dg.__file__).parents[1])
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(\))?$")
PATH = re.compile(r"^[\w.\-/*<>]+$")


def _code_spans(text: str) -> list[str]:
    """Inline code spans, outside fenced blocks (which hold commands and config to paste)."""
    outside = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", outside)


def _spans() -> list[tuple[str, str]]:
    return [
        (path.relative_to(REPO_ROOT).as_posix(), span)
        for path in DOCS
        for span in _code_spans(path.read_text())
    ]


def _path_exists(span: str) -> bool:
    pattern = span.rstrip("/")
    if "." not in pattern and span in CODE:  # a tag key, as the code spells it
        return True
    if "/" not in pattern and any(REPO_ROOT.glob(f"[!.]*/**/{pattern}")):
        return True
    for root in ROOTS:
        if any(ch in pattern for ch in "*<>"):
            glob = re.sub(r"<[^>]*>", "*", pattern)
            if any(root.glob(glob)):
                return True
        elif (root / pattern).exists():
            return True
    # What the loop writes at run time (a store, the log, a landing batch, a model's card): the
    # file's name, or for a pattern its folder's, is spelled in the code.
    if any(ch in pattern for ch in "*<>"):
        return f'"{pattern.split("/")[0]}"' in CODE
    return f'"{pattern.rpartition("/")[2]}"' in CODE


def _missing(span: str) -> str | None:
    """Why `span` names nothing in the project, or None when it does (or names no code)."""
    if re.fullmatch(r"[0-9a-f]{7,40}", span):
        return None  # a commit
    if re.fullmatch(r"MLOPS_[A-Z0-9_]+", span):
        return None if span in CODE or span in VARIABLES else "no code reads this variable"
    if "/" in span or re.search(r"\.(py|md|yaml|yml|toml|sh|txt|jsonl|json|csv|png|lock)$", span):
        if not PATH.match(span):
            return None  # a command or an example, not a path
        return None if _path_exists(span) else "no such file or folder"
    if IDENTIFIER.match(span):
        parts = span.removesuffix("()").split(".")
        missing = [part for part in parts if part not in WORDS]
        return f"{', '.join(missing)} is in no module, test or benchmark" if missing else None
    return None


VARIABLES = {variable(field) for cls in SETTINGS_CLASSES for field in cls.model_fields}


def test_every_name_in_code_font_exists():
    missing = {
        f"{doc}: `{span}`": reason
        for doc, span in _spans()
        if (reason := _missing(span)) is not None
    }
    assert missing == {}


@pytest.mark.parametrize(
    ("span", "found"),
    [
        ("mlops_demo/core/storage/jsonl.py", True),
        ("core/storage/gone.py", False),
        ("StorageResource", True),
        ("open_store", False),
        ("MLOPS_STORE_URL", True),
        ("MLOPS_NO_SUCH_SETTING", False),
        ("cleaned_readings.jsonl", True),
        ("landing/readings/*.batch", True),
        ("mlops-demo walkthrough --batch 200", True),
    ],
)
def test_the_check_tells_a_name_that_exists_from_one_that_does_not(span, found):
    assert (_missing(span) is None) == found


def _settings_table() -> dict[str, str]:
    """The README's settings table: each variable and where it is set."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(MLOPS_[A-Z0-9_]+)` \| ([^|]+) \|", section, re.M)
    return {name: where.strip().strip("`") for name, where in rows}


def test_the_settings_table_lists_each_setting_once_where_it_is_set():
    keys = {cls: key for key, cls in STAGE_SETTINGS.items()}
    keys |= {RabbitMQResource: "rabbitmq", StorageResource: "storage"}
    keys |= {CodeLocationSettings: "plain"}
    expected = {
        variable(field): keys[cls] for cls in SETTINGS_CLASSES for field in cls.model_fields
    }
    table = _settings_table()
    by_commands = {name for name, where in table.items() if where == "commands"}
    assert {name: where for name, where in table.items() if name not in by_commands} == expected
    # What only the commands read is read by code that is not a resource.
    package = "\n".join(p.read_text() for p in (REPO_ROOT / "mlops_demo").rglob("*.py"))
    assert by_commands and all(f'"{name}"' in package for name in by_commands)


def test_the_response_policy_in_the_docs_is_the_one_the_checks_carry():
    from mlops_demo.core.monitoring import policy

    assert policy.as_markdown() in (REPO_ROOT / "docs" / "monitoring.md").read_text()
