"""No piece of a password shows in any output, whatever a person typed as a URL: generated
passwords holding the characters a URL reserves and broken escapes, in the `user:password@`,
`password=` and `sslpassword=` forms, sent through every path that prints: the refusal, the
connection error of psycopg2 and pika against the real servers and a closed port, the
`mlops-demo` command, and a failed Dagster run's whole event log."""

import json
from urllib.parse import unquote

import pytest
from helpers.cli_runner import run_cli
from helpers.runs import run_job
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlops_demo.core.common.urls import SHORTEST_HIDDEN_PIECE, redact_url
from mlops_demo.core.storage.postgres_connection import StoreUnavailable, connect
from mlops_demo.core.transport import broker

# Letters rare in English, so that a piece of a password is not also a word of a message.
PASSWORDS = st.text(
    alphabet=st.sampled_from("qxzQXZ0189" + ":/?#[]@!$&'()*+,;=%"), min_size=6, max_size=24
).filter(lambda password: sum(c.isalnum() for c in password) >= 3)
FORMS = ("userinfo", "password=", "sslpassword=")
# The real servers, and a port where nothing listens.
POSTGRES_PORTS = (5432, 1)
BROKER_PORTS = (5672, 1)


def url_of(scheme: str, port: int, password: str, form: str) -> str:
    if form == "userinfo":
        return f"{scheme}://mlops_fuzz:{password}@127.0.0.1:{port}/mlops_fuzz?connect_timeout=2"
    return f"{scheme}://mlops_fuzz@127.0.0.1:{port}/mlops_fuzz?{form}{password}&connect_timeout=2"


def pieces(password: str) -> set[str]:
    size = SHORTEST_HIDDEN_PIECE
    return {
        form[start : start + size]
        for form in (password, unquote(password))
        for start in range(len(form) - size + 1)
    }


def shown_pieces(output: str, password: str, url: str) -> set[str]:
    """The password's pieces in the output; the URL without its password must hold none, or
    a host or a parameter could not be told from a leak."""
    without = url.replace(password, "")
    assume(not any(piece in without for piece in pieces(password)))
    return {piece for piece in pieces(password) if piece in output}


def postgres_output(url: str) -> str:
    try:
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except StoreUnavailable as exc:
        return str(exc)
    return ""


def broker_output(url: str) -> str:
    try:
        broker.queue_depth(url, "mlops_fuzz_probe")
    except broker.BrokerUnavailable as exc:
        return str(exc)
    return ""


@pytest.mark.broker
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(password=PASSWORDS, form=st.sampled_from(FORMS), port=st.sampled_from((0, 1)))
def test_no_piece_of_a_password_shows_in_a_refusal_or_a_connection_error(password, form, port):
    store_url = url_of("postgresql", POSTGRES_PORTS[port], password, form)
    broker_url = url_of("amqp", BROKER_PORTS[port], password, form)
    for url, output in (
        (store_url, redact_url(store_url)),
        (store_url, postgres_output(store_url)),
        (broker_url, redact_url(broker_url)),
        (broker_url, broker_output(broker_url)),
    ):
        assert not shown_pieces(output, password, url), output


@pytest.mark.broker
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(password=PASSWORDS, form=st.sampled_from(FORMS))
def test_no_piece_of_a_password_shows_in_what_the_command_prints(password, form):
    url = url_of("amqp", BROKER_PORTS[1], password, form)
    result = run_cli("publish", "readings", "-n", "1", "--url", url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert not shown_pieces(result.output + result.stderr, password, url), result.stderr


@pytest.mark.broker
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
@given(password=PASSWORDS, form=st.sampled_from(FORMS))
def test_no_piece_of_a_password_shows_in_a_failed_runs_event_log(
    env, instance, monkeypatch, password, form
):
    broker_url = url_of("amqp", BROKER_PORTS[1], password, form)
    store_url = url_of("postgresql", POSTGRES_PORTS[1], password, form)
    monkeypatch.setenv("MLOPS_BROKER_URL", broker_url)
    monkeypatch.setenv("MLOPS_STORE_URL", store_url)
    for job in ("get_all_readings_job", "train_ml_model"):
        result = run_job(instance, job, raise_on_error=False)
        assert not result.success
        logged = "\n".join(str(entry) for entry in instance.all_logs(result.run_id))
        logged += json.dumps(instance.get_run_by_id(result.run_id).run_config)
        for url in (broker_url, store_url):
            assert not shown_pieces(logged, password, url)
