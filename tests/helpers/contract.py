"""One backend's contract tests run on the other: the unit tier holds a contract's tests with the
local backend's fixture, and an integration module takes them with its own fixture, so the same
assertions hold on PostgreSQL without a second copy of them."""

import inspect
from types import ModuleType

import pytest

# What pytest.fixture makes of a function, told apart through pytest's public API alone.
FIXTURE = type(pytest.fixture(lambda: None))


def contract_of(module: ModuleType, *fixtures: str) -> dict[str, object]:
    """The module's fixtures, and its tests that take any of `fixtures`, by name: for an
    integration module's globals, before it redefines those fixtures."""
    taken = {}
    for name, value in vars(module).items():
        if isinstance(value, FIXTURE):
            taken[name] = value
        elif name.startswith("test_") and callable(value):
            parameters = inspect.signature(value).parameters
            if any(fixture in parameters for fixture in fixtures):
                taken[name] = value
    return taken
