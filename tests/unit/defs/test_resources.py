"""The resources built from the environment: defaults, overrides, clear errors, URLs bound as
`dg.EnvVar`, per-run overrides, and the backend each store URL selects. No broker needed."""

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from mlops_demo.core.backends import JsonlBackend, PostgresBackend
from mlops_demo.core.common.choices import SettingsError
from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.core.messages.streams import READINGS
from mlops_demo.core.registry.entries import RegistryError
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.resources import (
    SECRET_FIELDS,
    SETTINGS_CLASSES,
    CodeLocationSettings,
    RabbitMQResource,
    StorageResource,
    from_env,
    resources_from_env,
    variable,
)
from mlops_demo.defs.training.settings import GateSettings
from mlops_demo.devserver.dagster_dev import LOCATION, REPOSITORY, WORKSPACE

FIELDS = [field for cls in SETTINGS_CLASSES for field in cls.model_fields.items()]


def test_defaults_with_nothing_set():
    storage, rabbitmq = from_env(StorageResource, {}), from_env(RabbitMQResource, {})
    loaded_with = from_env(CodeLocationSettings, {})
    assert rabbitmq.broker_url == "amqp://127.0.0.1:5672/%2F"
    assert (rabbitmq.readings_queue, rabbitmq.statuses_queue) == ("readings", "daily_statuses")
    assert rabbitmq.queue_type == "classic"
    assert from_env(IngestionSettings, {}).min_batch == 500
    assert loaded_with.sensor_interval_seconds == 5
    assert storage.data_path == REPO_ROOT
    assert loaded_with.executor == "in_process"
    assert storage.backend == JsonlBackend(REPO_ROOT, REPO_ROOT / "trained-models")


def test_each_variable_sets_its_field(tmp_path):
    environ = {
        "MLOPS_MIN_BATCH": "20",
        "MLOPS_READINGS_QUEUE": "r2",
        "MLOPS_DATA_DIR": str(tmp_path),
        "MLOPS_EXECUTOR": "multiprocess",
        "MLOPS_MIN_F1": "0.45",
        "MLOPS_STORE_URL": "postgresql://u:p@db/mlops",
        "MLOPS_STORE_SCHEMA": "plant7",
    }
    storage = from_env(StorageResource, environ)
    assert from_env(IngestionSettings, environ).min_batch == 20
    assert from_env(GateSettings, environ).min_f1 == 0.45
    assert from_env(CodeLocationSettings, environ).executor == "multiprocess"
    assert storage.data_path == tmp_path.resolve()
    assert storage.backend == PostgresBackend("postgresql://u:p@db/mlops", "plant7")
    assert from_env(RabbitMQResource, environ).readings_queue == "r2"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MLOPS_MIN_BATCH", "lots", "MLOPS_MIN_BATCH input should be a valid integer"),
        ("MLOPS_MIN_BATCH", "0", "MLOPS_MIN_BATCH input should be greater than or equal to 1"),
        ("MLOPS_SENSOR_INTERVAL_SECONDS", "-3", "greater than or equal to 1, got '-3'"),
        ("MLOPS_MIN_F1", "1.5", "MLOPS_MIN_F1 input should be less than or equal to 1"),
        ("MLOPS_EXECUTOR", "threads", "MLOPS_EXECUTOR input should be 'in_process' or"),
        ("MLOPS_QUEUE_TYPE", "stream", "MLOPS_QUEUE_TYPE input should be 'classic' or 'quorum'"),
    ],
)
def test_bad_values_say_which_variable_and_why(name, value, message):
    owner = next(cls for cls in SETTINGS_CLASSES if variable_owner(cls, name))
    with pytest.raises(SettingsError, match=message):
        from_env(owner, {name: value})


def variable_owner(cls, name: str) -> bool:
    return any(variable(field) == name for field in cls.model_fields)


def test_a_mistyped_store_url_is_refused_not_made_a_folder(tmp_path):
    storage = from_env(
        StorageResource,
        {"MLOPS_DATA_DIR": str(tmp_path), "MLOPS_STORE_URL": "postgresql+psycopg2://a:pw@db/x"},
    )
    with pytest.raises(SettingsError, match="postgresql://USER:PASSWORD@HOST"):
        storage.store(READINGS)
    assert list(tmp_path.iterdir()) == []


def test_a_relative_folder_store_lies_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    storage = StorageResource(data_dir=str(tmp_path), store_url="stores")
    assert storage.store(READINGS).location.startswith(str(tmp_path / "stores"))
    assert tmp_path / "stores" / "cleaned_readings.jsonl" in storage.written_paths()


def test_urls_are_bound_as_env_vars_and_everything_else_as_values():
    environ = {variable(field): "1" for cls in SETTINGS_CLASSES for field in cls.model_fields}
    environ |= {
        "MLOPS_BROKER_URL": "amqp://u:hunter2@host/%2F",
        "MLOPS_STORE_URL": "postgresql://u:hunter2@db/x",
        "MLOPS_EXECUTOR": "in_process",
        "MLOPS_QUEUE_TYPE": "quorum",
        "MLOPS_AUTO_DEPLOY": "promoted",
        "MLOPS_DATA_DIR": "/srv",
        "MLOPS_STORE_SCHEMA": "s",
    }
    resources = resources_from_env(environ)
    assert set(resources) == {
        "rabbitmq",
        "storage",
        "ingestion_settings",
        "training_settings",
        "gate_settings",
        "deployment_settings",
        "inference_settings",
        "monitoring_settings",
        "housekeeping_settings",
        "io_manager",
    }
    for resource in (r for r in resources.values() if isinstance(r, dg.ConfigurableResource)):
        for field in type(resource).model_fields:
            value = getattr(resource, field)
            if field in SECRET_FIELDS:
                assert isinstance(value, dg.EnvVar) and value == variable(field)
            else:
                assert not isinstance(value, dg.EnvVar), field


def test_every_setting_is_described_once_with_its_variable_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text()
    for field, info in FIELDS:
        assert info.description, f"{field} has no description for the resource page"
        assert f"`{variable(field)}`" in readme, f"{variable(field)} is not in the README"
    names = [field for field, _ in FIELDS]
    assert len(names) == len(set(names)), "a field name in two classes would share a variable"


def test_a_registry_without_a_key_is_refused_by_name(tmp_path):
    # from_env always names the home's key file; only a run's config can leave both empty.
    storage = StorageResource(data_dir=str(tmp_path), registry_key_file="")
    with pytest.raises(RegistryError, match="no key for the model registry: set registry_key"):
        storage.registry()
    assert from_env(StorageResource, {"MLOPS_DATA_DIR": str(tmp_path)}).registry_key_file


def test_a_run_can_change_a_setting_for_itself(tmp_path):
    @dg.asset
    def floor(gate_settings: GateSettings) -> float:
        return gate_settings.min_f1

    resources = {"gate_settings": GateSettings()}
    changed = {"resources": {"gate_settings": {"config": {"min_f1": 0.6}}}}
    assert dg.materialize([floor], resources=resources).output_for_node("floor") == 0.3
    result = dg.materialize([floor], resources=resources, run_config=changed)
    assert result.output_for_node("floor") == 0.6
    refused = {"resources": {"gate_settings": {"config": {"min_f1": 6}}}}
    assert not dg.materialize(
        [floor], resources=resources, run_config=refused, raise_on_error=False
    ).success


RESOURCE_PAGE = """
query($selector: ResourceSelector!) {
  topLevelResourceDetailsOrError(resourceSelector: $selector) {
    ... on ResourceDetails { configFields { name } configuredValues { key value type } }
  }
}
"""


@pytest.mark.parametrize("resource", ["storage", "gate_settings", "rabbitmq"])
def test_the_resource_page_lists_every_setting_and_no_password(monkeypatch, resource):
    """What the UI's resource page shows, read through the webserver's own GraphQL schema."""
    monkeypatch.setenv("MLOPS_BROKER_URL", "amqp://u:hunter2@host/%2F")
    monkeypatch.setenv("MLOPS_STORE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("MLOPS_MIN_F1", "0.42")
    with (
        dg.instance_for_test() as instance,
        define_out_of_process_context(str(WORKSPACE), None, instance) as context,
    ):
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "resourceName": resource,
        }
        page = execute_dagster_graphql(context, RESOURCE_PAGE, {"selector": selector}).data
    details = page["topLevelResourceDetailsOrError"]
    cls = {"storage": StorageResource, "gate_settings": GateSettings}.get(
        resource, RabbitMQResource
    )
    assert {field["name"] for field in details["configFields"]} == set(cls.model_fields)
    shown = {value["key"]: value for value in details["configuredValues"]}
    assert "hunter2" not in str(details)
    if resource == "gate_settings":
        assert shown["min_f1"]["value"] == "0.42"
    elif resource == "storage":
        assert shown["store_url"] == {
            "key": "store_url",
            "value": "MLOPS_STORE_URL",
            "type": "ENV_VAR",
        }
    else:
        assert shown["broker_url"]["type"] == "ENV_VAR"
