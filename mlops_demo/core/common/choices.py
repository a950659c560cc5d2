"""The allowed values of the settings that take one of a few words, and the error a bad value
raises."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


EXECUTORS = ("in_process", "multiprocess")
DAGSTER_INSTANCES = ("sqlite", "postgres")
QUEUE_TYPES = ("classic", "quorum")


def checked_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """`value` of the setting `name` if it is one of `allowed`; else a SettingsError saying so."""
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
