"""URLs a person types: which kind they name, whether they parse as meant, and their text with
every password hidden."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from mlops_demo.core.common.choices import SettingsError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


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
