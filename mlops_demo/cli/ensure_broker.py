"""`mlops-demo ensure-broker`: make sure a RabbitMQ broker answers at the configured URL.

Tries, in order: a broker that already answers; `docker compose up -d` when a Docker engine
answers; `rabbitmq-server -detached` when it is installed. It never stops or restarts a broker.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import click

from mlops_demo.cli.errors import CommandError
from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.common.urls import LOCAL_HOSTS, redact_url, url_host
from mlops_demo.core.transport.broker import BrokerUnavailable, channel
from mlops_demo.defs.resources import RabbitMQResource, from_env

WAIT_SECONDS = 90.0


def broker_answers(url: str) -> bool:
    try:
        with channel(url, connect_timeout=2.0):
            return True
    except BrokerUnavailable:
        return False


def _wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if broker_answers(url):
            return True
        time.sleep(1.0)
    return False


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
    return probe.returncode == 0


def ensure_broker(url: str) -> str:
    """Return how the broker came to answer; raise BrokerUnavailable with every way tried."""
    shown = redact_url(url)
    if broker_answers(url):
        return f"RabbitMQ answers at {shown}"
    host = url_host(url) or "localhost"
    if host not in LOCAL_HOSTS:
        # A broker elsewhere is someone's to run: starting one here would not make it answer.
        raise BrokerUnavailable(
            f"no RabbitMQ broker answers at {shown}, and {host} is not this machine, so nothing "
            "is started here: check that the broker runs there, that the port is open to you, "
            "and that MLOPS_BROKER_URL names the right host, port, user and password"
        )
    if _docker_engine_answers():
        subprocess.run(["docker", "compose", "up", "-d"], cwd=REPO_ROOT, check=True)
        if _wait_for(url, WAIT_SECONDS):
            return f"started RabbitMQ with docker compose; it answers at {shown}"
        raise BrokerUnavailable(f"docker compose started RabbitMQ but {shown} did not answer")
    server = shutil.which("rabbitmq-server")
    if server is not None:
        subprocess.run([server, "-detached"], check=False, capture_output=True)
        if _wait_for(url, WAIT_SECONDS):
            return f"started rabbitmq-server -detached; it answers at {shown}"
        raise BrokerUnavailable(f"started rabbitmq-server but {shown} did not answer")
    raise BrokerUnavailable(
        f"no RabbitMQ broker answers at {shown}. Start one in any of these ways: "
        "(1) point MLOPS_BROKER_URL at a running broker; "
        "(2) start a Docker engine, so that `docker compose up -d` runs docker-compose.yml; "
        "(3) install RabbitMQ so that `rabbitmq-server -detached` can start it."
    )


@click.command("ensure-broker")
def ensure_broker_command() -> None:
    """Make sure a RabbitMQ broker answers at MLOPS_BROKER_URL: use one that answers, else
    `docker compose up -d` when a Docker engine answers, else `rabbitmq-server -detached` when it
    is installed. It never stops or restarts a broker.

    \b
    Examples:
      mlops-demo ensure-broker
      MLOPS_BROKER_URL=amqp://me:secret@127.0.0.1:5672/%2F mlops-demo ensure-broker
    """
    try:
        click.echo(ensure_broker(from_env(RabbitMQResource).broker_url))
    except BrokerUnavailable as exc:
        raise CommandError(str(exc)) from None
