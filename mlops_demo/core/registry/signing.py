"""The registry's signature: an HMAC-SHA256 over every entry and deployment, under a key kept
outside the data directory and the store, so whoever can write the registry's files or tables
cannot make a pickle of their own pass for a model (`docs/reliability.md`, the threat model)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from mlops_demo.core.common.durable import ensure_dir
from mlops_demo.core.registry.entries import RegistryError


def load_or_create_key(path: Path) -> bytes:
    """The registry's signing key from `path`, created on first use, readable by its owner only."""
    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise RegistryError(
            f"the registry key {path} can be read by other users: chmod 600 it (whoever reads "
            "it can sign a model of their own)"
        )
    key = path.read_text().strip()
    if not key:
        raise RegistryError(f"the registry key {path} is empty: remove it to have a new one made")
    return key.encode()


def signature(key: bytes, models: list, deployments: list) -> str:
    content = json.dumps({"models": models, "deployments": deployments}, sort_keys=True)
    return hmac.new(key, content.encode(), hashlib.sha256).hexdigest()
