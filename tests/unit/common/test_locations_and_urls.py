"""The pure rules for settings' values: where a store URL points, which Dagster home is used,
and redaction of every password form."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlops_demo.core.common.choices import SettingsError
from mlops_demo.core.common.locations import (
    DAGSTER_HOMES,
    REPO_ROOT,
    dagster_home,
    resolve_data_dir,
    store_folder,
)
from mlops_demo.core.common.urls import check_url, redact_error, redact_url, url_host


def test_relative_data_dir_resolves_from_the_repository_not_the_working_directory(
    monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir("somewhere") == REPO_ROOT / "somewhere"
    assert resolve_data_dir(None) == REPO_ROOT


@pytest.mark.parametrize(
    ("url", "folder"),
    [
        ("", "data"),
        ("stores", "data/stores"),
        ("/srv/plant7", "/srv/plant7"),
        ("postgresql://u:p@db/mlops", None),
        ("postgres://u:p@db/mlops", None),
    ],
)
def test_a_store_url_names_postgresql_or_a_folder_inside_the_data_directory(tmp_path, url, folder):
    expected = None if folder is None else tmp_path / folder
    assert store_folder(url, tmp_path / "data") == expected


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg2://alice:pw@db/prod", "mysql://db/x", "file:///srv/plant"],
)
def test_a_store_url_with_another_scheme_is_refused_with_the_accepted_forms(tmp_path, url):
    with pytest.raises(SettingsError, match=r"names no store: use postgresql://") as raised:
        store_folder(url, tmp_path)
    assert "pw" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_an_exported_dagster_home_wins_on_every_route(tmp_path):
    assert dagster_home({"DAGSTER_HOME": str(tmp_path)}, "sqlite") == tmp_path
    assert dagster_home({"DAGSTER_HOME": str(tmp_path)}, "postgres") == tmp_path
    assert dagster_home({}, "sqlite") == DAGSTER_HOMES["sqlite"] == REPO_ROOT / ".dagster_home"
    assert dagster_home({"DAGSTER_HOME": ""}, "postgres") == DAGSTER_HOMES["postgres"]
    assert (DAGSTER_HOMES["postgres"] / "dagster.yaml").is_file()


def test_an_unknown_instance_kind_says_which_setting(tmp_path):
    with pytest.raises(SettingsError, match="MLOPS_DAGSTER_INSTANCE must be one of sqlite"):
        dagster_home({}, "mysql")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:secret@host:5672/%2F", "amqp://guest:***@host:5672/%2F"),
        ("amqp://host/%2F", "amqp://host/%2F"),
        ("amqp://u:p@host/v", "amqp://u:***@host/v"),
    ],
)
def test_redact_url_hides_the_password(url, shown):
    assert redact_url(url) == shown


# Passwords people type: letters and digits with every character a URL reserves, unencoded.
PASSWORDS = st.text(
    alphabet=st.sampled_from("abcXYZ0189" + ":/?#[]@!$&'()*+,;=%"), min_size=6, max_size=24
).filter(lambda password: sum(c.isalnum() for c in password) >= 3)
USERS = st.text(alphabet=st.sampled_from("abcdefgh_0123"), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["amqp", "amqps", "postgresql", "postgres", "postgresql+psycopg2"]),
    user=USERS,
    password=PASSWORDS,
    in_query=st.booleans(),
)
def test_no_password_survives_redaction_in_any_url_form(scheme, user, password, in_query):
    rest = f"{scheme}://{user}@db.plant7:5432/mlops?sslmode=require"
    assume(password not in rest)
    if in_query:
        # In a query a raw & ; or # would start another parameter for the driver too.
        password = password.translate({ord(c): "x" for c in "&;#"})
        url = f"{rest}&password={password}"
    else:
        url = rest.replace("@", f":{password}@", 1)
    shown = redact_url(url)
    assert password not in shown, shown
    assert shown.startswith(f"{scheme}://{user}") and "***" in shown


@pytest.mark.parametrize(
    "url",
    ["amqp://127.0.0.1:5672/%2F", "postgresql://postgres@127.0.0.1:5432/postgres", "a plain text"],
)
def test_a_url_without_a_password_is_left_as_it_is(url):
    assert redact_url(url) == url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("u:hunter2@db:5432/plant", "u:***@db:5432/plant"),
        ("postgresql://u@db/x?sslpassword=hunter2&sslmode=require", "sslpassword=***&sslmode"),
        ("host=db password=hunter2 user=x", "host=db password=*** user=x"),
    ],
)
def test_scheme_less_urls_ssl_passwords_and_keyword_dsns_are_redacted(url, shown):
    assert "hunter2" not in redact_url(url) and shown in redact_url(url)


TRICKY = "amqp://u:hunter2@Secret/x@broker.plant7:5672/%2F"


def test_the_host_is_read_after_the_last_at_so_no_password_piece_is_a_host():
    assert url_host(TRICKY) == "broker.plant7"
    assert url_host("amqp://[::1]:5672/%2F") == "::1"
    assert url_host("postgresql://alice:pw@db:5432/prod") == "db"


@pytest.mark.parametrize(
    "url",
    [TRICKY, "postgresql://alice:s3?cr#t@pa%ss@db:5432/prod", "amqp://u:a%zz@host/%2F"],
)
def test_a_password_with_an_unencoded_reserved_character_is_refused_without_showing_it(url):
    with pytest.raises(SettingsError, match="percent-encode it") as refused:
        check_url(url, "MLOPS_BROKER_URL")
    message = str(refused.value)
    assert "hunter2" not in message and "cr#t" not in message and "a%zz" not in message


def test_an_encoded_password_and_a_url_without_one_pass():
    check_url("amqp://u:hunt%40er%2F2@host:5672/%2F", "MLOPS_BROKER_URL")
    check_url("postgresql://postgres@127.0.0.1:5432/postgres", "MLOPS_STORE_URL")


def test_library_errors_lose_the_password_they_quote():
    url = "postgresql://alice:s3?cr#t@pa%ss@db:5432/prod"
    error = 'invalid dsn: invalid percent-encoded token: "s3?cr#t@pa%ss"'
    assert "cr#t" not in redact_error(error, url) and "***" in redact_error(error, url)
    assert redact_error("port 'x' is not a number", "amqp://u:pw@h:x/") == (
        "port 'x' is not a number"
    )


def test_a_password_parameter_is_hidden_whole_in_a_refusal_and_in_what_libpq_echoes():
    refused = "postgresql://acc@127.0.0.1:1/x?password=s3?cr#t@pa%ss"
    with pytest.raises(SettingsError) as raised:
        check_url(refused, "MLOPS_STORE_URL")
    assert "postgresql://acc@127.0.0.1:1/x?password=***" in str(raised.value)
    assert "pa%ss" not in str(raised.value) and "cr#t" not in str(raised.value)
    echoed = "postgresql://alice@127.0.0.1:1/x?password=50%zzs3cretPW"
    error = 'invalid URI query parameter: invalid percent-encoded token: "50%zzs3cretPW"'
    assert (
        redact_error(error, echoed)
        == 'invalid URI query parameter: invalid percent-encoded token: "***"'
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # The value runs to the next parameter a driver knows: a raw & inside it stays hidden.
        ("postgresql://u@db/x?password=ab&cdef&sslmode=require", "password=***&sslmode=require"),
        # A password that is also the user's name shows as neither.
        ("amqp://guest:guest@127.0.0.1:5672/%2F", "amqp://***:***@127.0.0.1:5672/%2F"),
    ],
)
def test_every_piece_of_a_password_is_hidden_wherever_it_shows(url, shown):
    assert shown in redact_url(url)
