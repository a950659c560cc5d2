"""The names and defaults every layer shares, and the pure rules for settings' values.

Nothing here reads the environment: `mlops_demo.defs.resources` builds the one settings resource
from it, and everything else receives values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_HOME = REPO_ROOT / ".dagster_home"
DAGSTER_HOMES = {"sqlite": DAGSTER_HOME, "postgres": REPO_ROOT / ".dagster_home_postgres"}
DEFAULT_DAGSTER_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"

# pika logs in as guest/guest when a URL names no user, so the default shows no password.
DEFAULT_BROKER_URL = "amqp://127.0.0.1:5672/%2F"
DEFAULT_STORE_SCHEMA = "mlops_demo"

READINGS_STORE_FILE = "cleaned_readings.jsonl"
STATUSES_STORE_FILE = "cleaned_daily_statuses.jsonl"
READINGS_QUARANTINE_FILE = "quarantined_readings.jsonl"
STATUSES_QUARANTINE_FILE = "quarantined_daily_statuses.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"
LANDING_DIR = "landing"
MODELS_DIR = "trained-models"
REGISTRY_FILE = "registry.json"


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


EXECUTORS = ("in_process", "multiprocess")
DAGSTER_INSTANCES = ("sqlite", "postgres")
QUEUE_TYPES = ("classic", "quorum")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def checked_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """`value` of the setting `name` if it is one of `allowed`; else a SettingsError saying so."""
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def resolve_data_dir(raw: str | None) -> Path:
    """The data directory a setting names; the repository root when unset."""
    data_dir = Path(raw or REPO_ROOT).expanduser()
    # A relative setting would otherwise follow whatever folder `dagster dev` was started in.
    return (REPO_ROOT / data_dir).resolve()


def store_folder(store_url: str, data_dir: Path) -> Path | None:
    """The JSONL store's folder a store URL names (None for PostgreSQL): the data directory when
    unset, and a relative folder inside it, never in whatever folder Dagster started in.

    Anything else with a scheme is refused, `postgresql+psycopg2://` included: taken as a folder,
    it would quietly become a directory named after the password."""
    if is_postgres_url(store_url):
        return None
    if "://" in store_url:
        scheme = store_url.partition("://")[0]
        raise SettingsError(
            f"MLOPS_STORE_URL has the scheme {scheme!r}, which names no store: use "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE (or postgres://...) for PostgreSQL, "
            "or a folder for the JSONL store"
        )
    return (data_dir / Path(store_url).expanduser()).resolve() if store_url else data_dir


def instance_kind(environ: Mapping[str, str]) -> str:
    """sqlite or postgres: the Dagster instance MLOPS_DAGSTER_INSTANCE selects."""
    return environ.get("MLOPS_DAGSTER_INSTANCE") or DAGSTER_INSTANCES[0]


def dagster_home(environ: Mapping[str, str], instance: str) -> Path:
    """The Dagster home every route uses: an exported DAGSTER_HOME wins, else the project's home
    for the instance kind (`MLOPS_DAGSTER_INSTANCE`)."""
    exported = environ.get("DAGSTER_HOME")
    if exported:
        return Path(exported).expanduser().resolve()
    return DAGSTER_HOMES[checked_choice("MLOPS_DAGSTER_INSTANCE", instance, DAGSTER_INSTANCES)]


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Characters a URL parser takes as the end of the userinfo or of the authority.
_RESERVED_IN_USERINFO = set("@/?#[]")
_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def url_host(url: str) -> str:
    """The host a URL names, read the way `redact_url` reads it (after the last `@`), so that a
    password holding an unencoded `@` or `/` is never taken for a host, printed or resolved."""
    rest = url.partition("://")[2] if "://" in url else url
    location = rest.rpartition("@")[2]
    host = re.split(r"[/?#]", location, maxsplit=1)[0]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def check_url(url: str, variable: str) -> None:
    """Refuse a URL that a parser would read otherwise than it was meant: a user or password
    holding an unencoded reserved character ends the authority early, so the parser would take
    a piece of the password for the host (and look it up in DNS). The error never shows it."""
    rest = url.partition("://")[2]
    userinfo = rest.rpartition("@")[0]
    if userinfo and (_RESERVED_IN_USERINFO & set(userinfo) or _PERCENT_ESCAPE.search(userinfo)):
        raise SettingsError(
            f"{variable} ({redact_url(url)}) has a user or password holding a character a URL "
            "reserves (@ / ? # [ ] or a % not starting an escape): percent-encode it (@ is %40, "
            "/ is %2F, ? is %3F, # is %23, % is %25)"
        )


def check_credentials(url: str) -> None:
    """RabbitMQ's default guest account is for a broker on this machine only."""
    check_url(url, "MLOPS_BROKER_URL")
    host = url_host(url) or "localhost"
    if (urlsplit(url).username or "guest") == "guest" and host not in LOCAL_HOSTS:
        raise SettingsError(
            f"the default guest account is accepted only for a broker on localhost, not "
            f"{host}: put a user of your own in MLOPS_BROKER_URL "
            "(amqp://USER:PASSWORD@HOST:5672/%2F)"
        )


_SECRET_PARAMETER = re.compile(
    r"((?:^|[?&;\s])(?:ssl)?(?:password|passwd|pwd|secret|token)\s*=\s*)[^&;#\s]*", re.I
)


def redact_url(url: str) -> str:
    """The URL with every password replaced by ***, fit for logs, metadata and errors.

    Written for URLs a person may have typed wrongly: a password with an unencoded `?`, `#`, `/`
    or `@` ends the authority early for a URL parser, so the userinfo is taken up to the last
    `@` (a few characters too many are hidden rather than one too few shown). Password
    parameters (`?password=`, `sslpassword=`, libpq's `password=...` keywords) are hidden too,
    and so is the userinfo of a URL written without its scheme.
    """
    scheme, separator, rest = _SECRET_PARAMETER.sub(r"\1***", url).partition("://")
    if not separator:
        scheme, rest = "", scheme
    userinfo, at, location = rest.rpartition("@")
    if at and (separator or not re.search(r"\s", userinfo)):
        user, colon, _password = userinfo.partition(":")
        rest = f"{user}{':***' if colon else ''}@{location}"
    return f"{scheme}{separator}{rest}"


def redact_error(text: str, url: str) -> str:
    """An error message a library wrote about `url`, without the password it may quote."""
    password = urlsplit(url).password if "://" in url else None
    userinfo = (url.partition("://")[2] if "://" in url else url).rpartition("@")[0]
    secret = userinfo.partition(":")[2]
    for hidden in {password, secret, unquote(secret)} - {None, ""}:
        text = text.replace(hidden, "***")
    return redact_url(text) if "://" in text else text
