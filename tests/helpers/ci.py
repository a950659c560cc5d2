"""What a test does when something outside the project that it needs is absent."""

import os
from typing import NoReturn

import pytest


def absent(reason: str) -> NoReturn:
    """Skip, saying why; but fail under CI (CI=true), which must have everything."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must have it", pytrace=False)
    pytest.skip(reason)
