"""deploy/ as far as a machine without Docker or Kubernetes can check it: every file parses, every
path, module, program and package it names exists here, and every setting it passes is one that
mlops_demo reads."""

import importlib.util
import re
import sys
from pathlib import Path

import yaml

from mlops_demo.core.common.locations import REPO_ROOT
from mlops_demo.defs.resources import SETTINGS_CLASSES, variable

DEPLOY = REPO_ROOT / "deploy"
# What reads MLOPS_* variables: the resources' fields (each field's variable), the names the
# commands and the dev server read, and the PostgreSQL instance's dagster.yaml.
SETTINGS_SOURCE = " ".join(
    [
        *(variable(field) for cls in SETTINGS_CLASSES for field in cls.model_fields),
        (REPO_ROOT / "mlops_demo" / "core" / "common" / "locations.py").read_text(),
        (REPO_ROOT / "mlops_demo" / "devserver" / "dagster_dev.py").read_text(),
        (REPO_ROOT / ".dagster_home_postgres" / "dagster.yaml").read_text(),
    ]
)
PROGRAMS = Path(sys.executable).parent


def _yaml(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def _settings_named(text: str) -> set[str]:
    return set(re.findall(r"\bMLOPS_[A-Z_]+\b", text))


def test_every_file_parses():
    for name in ("docker-compose.yml", "helm-values.yaml", "dagster.yaml", "workspace.yaml"):
        assert isinstance(_yaml(name), dict), name


def test_the_dockerfile_copies_what_exists_and_serves_the_code_location():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, _target = line.split()
        for source in sources:
            assert (REPO_ROOT / source).exists(), source
    command = re.search(r"CMD \[(.+?)\]", dockerfile, re.S).group(1)
    arguments = re.findall(r'"([^"]+)"', command)
    assert arguments[:3] == ["dagster", "code-server", "start"]
    assert importlib.util.find_spec(arguments[arguments.index("-m") + 1]) is not None
    assert arguments[arguments.index("--location-name") + 1] == "mlops_demo"
    # The launchers' packages come in the release that matches the pinned dagster-postgres.
    postgres_pin = re.search(
        r"^dagster-postgres==(\S+?);", (REPO_ROOT / "requirements.txt").read_text(), re.M
    )
    for package in ("dagster-docker", "dagster-k8s"):
        assert f"{package}=={postgres_pin.group(1)}" in dockerfile


def test_the_compose_file_builds_this_image_and_runs_programs_that_exist():
    compose = _yaml("docker-compose.yml")
    services = compose["services"]
    assert {"postgres", "rabbitmq", "code-server", "webserver", "daemon"} <= set(services)
    build = services["code-server"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    image = services["code-server"]["image"]
    assert services["webserver"]["image"] == services["daemon"]["image"] == image
    for name in ("webserver", "daemon"):
        program, *arguments = services[name]["entrypoint"]
        assert (PROGRAMS / program).exists(), program
        workspace = arguments[arguments.index("-w") + 1]
        mounted = {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"]}
        assert (DEPLOY / mounted[workspace]).resolve() == DEPLOY / "workspace.yaml"
    [server] = _yaml("workspace.yaml")["load_from"]
    assert server["grpc_server"]["host"] == "code-server"
    assert server["grpc_server"]["location_name"] == "mlops_demo"
    assert str(server["grpc_server"]["port"]) in (DEPLOY / "Dockerfile").read_text()


def test_the_runs_start_from_the_code_servers_image_with_what_they_need():
    instance = _yaml("dagster.yaml")
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    compose = _yaml("docker-compose.yml")
    assert (
        compose["services"]["code-server"]["environment"]["DAGSTER_CURRENT_IMAGE"]
        == (compose["services"]["code-server"]["image"])
    )
    passed = set(launcher["config"]["env_vars"])
    # Each run is a container of its own: the registry's key must reach it like the URLs.
    needed = {"MLOPS_STORE_URL", "MLOPS_BROKER_URL", "MLOPS_DAGSTER_POSTGRES_URL"}
    assert needed | {"MLOPS_REGISTRY_KEY"} <= passed
    assert "MLOPS_REGISTRY_KEY" in compose["x-mlops-env"]
    assert launcher["config"]["network"] in compose["networks"]
    assert instance["run_monitoring"]["enabled"] is True


def test_every_setting_the_files_pass_is_one_mlops_demo_reads():
    read = _settings_named(SETTINGS_SOURCE)
    for name in ("docker-compose.yml", "helm-values.yaml", "dagster.yaml", "Dockerfile"):
        named = _settings_named((DEPLOY / name).read_text())
        assert named <= read, f"{name} passes settings nothing reads: {named - read}"
    compose_env = _yaml("docker-compose.yml")["x-mlops-env"]
    assert {"MLOPS_STORE_URL", "MLOPS_BROKER_URL", "MLOPS_DAGSTER_POSTGRES_URL"} <= set(compose_env)


def test_the_helm_values_serve_the_code_location_from_the_image():
    values = _yaml("helm-values.yaml")
    [deployment] = values["dagster-user-deployments"]["deployments"]
    arguments = deployment["codeServerArgs"]
    assert importlib.util.find_spec(arguments[arguments.index("-m") + 1]) is not None
    assert arguments[arguments.index("--location-name") + 1] == "mlops_demo"
    assert (
        deployment["image"]["repository"]
        == _yaml("docker-compose.yml")["services"]["code-server"]["image"]
    )
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert {e["name"] for e in deployment["env"]} <= _settings_named(SETTINGS_SOURCE)


def test_every_instance_the_project_ships_dequeues_every_second_and_ticks_in_threads():
    # The freshness goals (docs/benchmarks.md) count each run's queue wait, and the queue
    # sensors' watching ticks would take turns without threads.
    instances = [
        yaml.safe_load((REPO_ROOT / home / "dagster.yaml").read_text())
        for home in (".dagster_home", ".dagster_home_postgres")
    ] + [_yaml("dagster.yaml")]
    for instance in instances:
        assert instance["run_coordinator"]["config"]["dequeue_interval_seconds"] == 1
        assert instance["sensors"] == {"use_threads": True, "num_workers": 4}
    daemon = _yaml("helm-values.yaml")["dagsterDaemon"]
    assert daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["dequeueIntervalSeconds"] == 1
    assert daemon["sensors"] == {"useThreads": True, "numWorkers": 4}


def test_no_production_file_falls_back_to_a_password():
    compose = (DEPLOY / "docker-compose.yml").read_text()
    secrets = re.findall(r"\$\{(\w*(?:PASSWORD|KEY)\w*)(:?[-?])", compose)
    assert {name for name, _ in secrets} == {
        "POSTGRES_PASSWORD",
        "RABBITMQ_PASSWORD",
        "MLOPS_REGISTRY_KEY",
    }
    assert {operator for _, operator in secrets} == {":?"}, "a password has a default"
    values = _yaml("helm-values.yaml")
    # The chart's own PostgreSQL secret would hold its default password, `test`.
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"] == values["postgresql"]["existingSecret"]
    assert "postgresqlPassword" not in values["postgresql"]


def test_every_instance_keeps_ticks_for_the_same_days_and_the_chart_too():
    homes = (".dagster_home", ".dagster_home_postgres", "deploy")
    retention = [
        yaml.safe_load((REPO_ROOT / home / "dagster.yaml").read_text())["retention"]
        for home in homes
    ]
    assert all(kept == retention[0] for kept in retention)
    by_kind = {"schedule": "schedule", "sensor": "sensor", "autoMaterialize": "auto_materialize"}
    chart = _yaml("helm-values.yaml")["retention"]
    assert chart.pop("enabled") is True
    for chart_kind, kind in by_kind.items():
        days, chart_days = (
            retention[0][kind]["purge_after_days"],
            chart[chart_kind]["purgeAfterDays"],
        )
        if isinstance(days, int):
            assert chart_days == days
        else:  # the chart also needs "started": kept like the ticks that launched a run
            assert chart_days == {**days, "started": days["success"]}
