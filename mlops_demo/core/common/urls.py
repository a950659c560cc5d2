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


# The parameters a driver (libpq, pika) reads beside a password. A password parameter's value
# runs up to the next of these, so a password holding a raw & ; # ? or @ is hidden whole.
_DRIVER_PARAMETERS = (
    r"(?:host|hostaddr|port|dbname|user|(?:ssl)?(?:password|passwd|pwd)|secret|token|sslmode|"
    r"sslcert|sslkey|sslrootcert|sslcrl|sslcompression|connect_timeout|application_name|"
    r"options|target_session_attrs|gssencmode|channel_binding|keepalives\w*|heartbeat|"
    r"blocked_connection_timeout|channel_max|connection_attempts|frame_max|locale|"
    r"retry_delay|socket_timeout|stack_timeout|ssl_options|tcp_options)"
)
_SECRET_PARAMETER = re.compile(
    r"((?:^|[?&;\s])(?:ssl)?(?:password|passwd|pwd|secret|token)\s*=\s*)"
    rf"(.*?)(?=[&;]{_DRIVER_PARAMETERS}\s*=|\s|$)",
    re.I,
)
# A piece of a password this long is hidden wherever it shows, whatever quoted it.
SHORTEST_HIDDEN_PIECE = 4


def _hide_parameters(text: str) -> str:
    return _SECRET_PARAMETER.sub(r"\1***", text)


def _redact_structure(url: str) -> str:
    scheme, separator, rest = _hide_parameters(url).partition("://")
    if not separator:
        scheme, rest = "", scheme
    userinfo, at, location = rest.rpartition("@")
    if at and (separator or not re.search(r"\s", userinfo)):
        user, colon, _password = userinfo.partition(":")
        rest = f"{user}{':***' if colon else ''}@{location}"
    return f"{scheme}{separator}{rest}"


def secrets_in(url: str) -> set[str]:
    """Every string the URL may hold as a password, as typed and percent-decoded: each password
    parameter's value, and the userinfo's password read after the last `@` and after the first
    (a URL typed wrongly is read either way by some parser)."""
    found = {match.group(2) for match in _SECRET_PARAMETER.finditer(url)}
    rest = _hide_parameters(url)
    rest = rest.partition("://")[2] if "://" in rest else rest
    if "@" in rest:
        for userinfo in (rest.rpartition("@")[0], rest.partition("@")[0]):
            found.add(userinfo.partition(":")[2])
    return {form for secret in found for form in (secret, unquote(secret))} - {""}


def hide_secrets(text: str, secrets: set[str]) -> str:
    """The text with every piece of a secret, `SHORTEST_HIDDEN_PIECE` characters or longer,
    replaced by ***: a library quoting part of a password it could not read shows none of it."""
    for secret in sorted(secrets, key=len, reverse=True):
        for size in range(len(secret), SHORTEST_HIDDEN_PIECE - 1, -1):
            for start in range(len(secret) - size + 1):
                piece = secret[start : start + size]
                if piece in text:
                    text = text.replace(piece, "***")
    return text


def redact_url(url: str) -> str:
    """The URL with every password replaced by ***, fit for logs, metadata and errors.

    Written for URLs a person may have typed wrongly: a password with an unencoded `?`, `#`, `/`
    or `@` ends the authority early for a URL parser, so the userinfo is taken up to the last
    `@` (a few characters too many are hidden rather than one too few shown). Password
    parameters (`?password=`, `sslpassword=`, libpq's `password=...` keywords) are hidden up to
    the next parameter a driver knows, and so is the userinfo of a URL written without its
    scheme. Any piece of a password left elsewhere in the text (a user named as the password,
    a host holding part of it) is hidden too.
    """
    return hide_secrets(_redact_structure(url), secrets_in(url))


def redact_error(text: str, url: str) -> str:
    """An error message a library wrote about `url`, without the password or any piece of it."""
    shown = _redact_structure(text) if "://" in text else text
    return hide_secrets(shown, secrets_in(url))
