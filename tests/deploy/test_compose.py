"""docker-compose.yml: valid for compose, started in a safe order, passing the app its settings.

``docker-compose config`` (Debian's docker-compose) checks the file when it is installed; the
Compose Specification schema vendored next to this file (Apache-2.0, see compose_spec.NOTICE)
checks it in any case.
"""

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

from app.core.settings import Settings, check_bind, load_settings
from app.core.webhook_secret import resolve_webhook_secret
from temporal.devserver import DYNAMIC_CONFIG
from temporal.search_attributes import ALL as SEARCH_ATTRIBUTES
from tests.deploy.deployfiles import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    ROOT,
    MissingVariableError,
    compose_container_env,
    compose_variables,
    interpolate,
    load_compose,
    setting_names,
    stackchain_services,
)

# What an operator puts in .env: the required values, and a Spacelift API key.
OPERATOR_ENV = {
    "SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io",
    "SPACELIFT_API_KEY_ID": "01ABCDEF",
    "SPACELIFT_API_KEY_SECRET": "key-secret",
    "STACKCHAIN_WEBHOOK_SECRET": "webhook-secret",
    "STACKCHAIN_API_TOKEN": "api-token",
    "POSTGRES_PASSWORD": "pg-password",
}
REQUIRED = {
    "SPACELIFT_API_KEY_ENDPOINT",
    "STACKCHAIN_WEBHOOK_SECRET",
    "STACKCHAIN_API_TOKEN",
    "POSTGRES_PASSWORD",
}
SCRIPTS = sorted((ROOT / "deploy" / "compose").glob("*.sh"))


def docker_compose() -> str:
    """The docker-compose command, or a skip saying how to get it."""
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose is not installed (apt-get install -y docker-compose)")
    return found


def run_config(env: Mapping[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` on the file with ``env`` and an empty .env (not the tree's)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(  # noqa: S603 - a fixed command line
        [
            docker_compose(),
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(empty),
            "-f",
            str(COMPOSE_FILE),
            "config",
        ],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    """docker-compose config validates and resolves the file with a filled-in .env."""
    result = run_config(OPERATOR_ENV, tmp_path)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    api = resolved["services"]["api"]["environment"]
    assert api["STACKCHAIN_WEBHOOK_SECRET"] == OPERATOR_ENV["STACKCHAIN_WEBHOOK_SECRET"]
    assert api["TEMPORAL_ADDRESS"] == "temporal:7233"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_docker_compose_refuses_to_start_without_a_required_value(
    missing: str, tmp_path: Path
) -> None:
    """docker-compose config fails, naming the variable, when a required value is missing."""
    env = {key: value for key, value in OPERATOR_ENV.items() if key != missing}
    result = run_config(env, tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr


def test_the_file_matches_the_compose_specification() -> None:
    """docker-compose.yml is valid under the vendored Compose Specification JSON schema."""
    schema = json.loads((Path(__file__).parent / "compose_spec.json").read_text())
    errors = [error.message for error in Draft201909Validator(schema).iter_errors(load_compose())]
    assert errors == []


def test_the_interpolation_helper_refuses_what_compose_refuses() -> None:
    """The tests' own interpolation applies defaults and fails on a missing required value."""
    assert interpolate("${A:-x}:${B}", {"B": "y"}) == "x:y"
    assert interpolate("$${A}", {"A": "no"}) == "${A}"
    with pytest.raises(MissingVariableError, match="REQUIRED"):
        interpolate("${REQUIRED:?set it}", {})


def test_stackchain_containers_get_only_settings_the_app_reads() -> None:
    """Every variable compose passes to the api and worker is a settings alias of the app."""
    services = stackchain_services(load_compose())
    assert set(services) == {"api", "worker"}
    known = setting_names()
    for name, service in services.items():
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} passes variables stackchain never reads: {unknown}"


def _settings_of(
    service: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[Settings, dict[str, str]]:
    container_env = compose_container_env(service, env)
    return load_settings(**container_env), container_env


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    "credentials",
    [
        {"SPACELIFT_API_KEY_ID": "01ABCDEF", "SPACELIFT_API_KEY_SECRET": "key-secret"},
        {"SPACELIFT_API_TOKEN": "bearer"},
    ],
    ids=["api-key", "token"],
)
def test_the_containers_get_every_setting_they_need(credentials: dict[str, str]) -> None:
    """With a filled .env, api and worker settings validate against the settings model: a real
    Spacelift account with credentials, the compose Temporal, the webhook secret and a token."""
    env = {
        key: value
        for key, value in OPERATOR_ENV.items()
        if not key.startswith("SPACELIFT_API_KEY_") or key.endswith("ENDPOINT")
    } | credentials
    services = stackchain_services(load_compose())
    for name, service in services.items():
        settings, container_env = _settings_of(service, env)
        assert not settings.uses_sandbox, name
        assert settings.temporal_address == "temporal:7233", name
        assert settings.config_path == Path("/etc/stackchain/stacks.yaml"), name
        for key, value in credentials.items():
            assert container_env[key] == value, name
    api_settings, _ = _settings_of(services["api"], env)
    assert resolve_webhook_secret(api_settings) == env["STACKCHAIN_WEBHOOK_SECRET"].encode()
    command = services["api"]["command"]
    host = command[command.index("--host") + 1]
    check_bind(host, has_token=api_settings.api_token is not None)


@pytest.mark.usefixtures("clean_environment")
def test_unset_optional_settings_stay_unset_in_the_containers() -> None:
    """A credential the operator did not set is not passed as an empty string."""
    env = {key: value for key, value in OPERATOR_ENV.items() if "API_KEY_" not in key}
    env |= {"SPACELIFT_API_KEY_ENDPOINT": OPERATOR_ENV["SPACELIFT_API_KEY_ENDPOINT"]}
    env |= {"SPACELIFT_API_TOKEN": "bearer"}
    for service in stackchain_services(load_compose()).values():
        container_env = compose_container_env(service, env)
        assert "SPACELIFT_API_KEY_ID" not in container_env
        assert "SPACELIFT_API_KEY_SECRET" not in container_env
        assert "TEMPORAL_API_KEY" not in container_env


def test_env_example_documents_every_setting_and_compose_variable() -> None:
    """config/.env.example names every setting of the app and every variable compose reads."""
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert setting_names() - documented == set()
    assert compose_variables(COMPOSE_FILE.read_text()) - documented == set()


def test_env_example_sets_nothing_by_default() -> None:
    """Every line of config/.env.example is commented out: a copy sets no empty values."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    assert [line for line in lines if line.strip() and not line.startswith("#")] == []


def test_services_start_in_order() -> None:
    """Each part waits for what it needs: database, schema, server, namespace and attributes."""
    services = load_compose()["services"]

    def waits_for(name: str) -> dict[str, str]:
        return {dep: cond["condition"] for dep, cond in services[name]["depends_on"].items()}

    assert waits_for("temporal-schema") == {"postgresql": "service_healthy"}
    assert waits_for("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert waits_for("temporal-setup") == {"temporal": "service_healthy"}
    assert waits_for("temporal-ui") == {"temporal": "service_healthy"}
    for name in ("api", "worker"):
        assert waits_for(name) == {"temporal-setup": "service_completed_successfully"}
    for name in ("postgresql", "temporal", "api"):
        assert "healthcheck" in services[name], name
    for name in ("temporal-schema", "temporal-setup"):
        assert services[name]["restart"] == "no", name


def test_state_lives_in_named_volumes() -> None:
    """PostgreSQL keeps its data in a named volume declared at the top level."""
    compose = load_compose()
    mounts = compose["services"]["postgresql"]["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in mounts
    assert "postgres-data" in compose["volumes"]


def test_published_ports_are_the_documented_ones() -> None:
    """API on 8000 (all interfaces), Temporal 7233 and UI 8080 on loopback; nothing else."""
    services = load_compose()["services"]
    published = {
        name: [interpolate(port, {}) for port in service.get("ports", [])]
        for name, service in services.items()
        if service.get("ports")
    }
    assert published == {
        "api": ["8000:8000"],
        "temporal": ["127.0.0.1:7233:7233"],
        "temporal-ui": ["127.0.0.1:8080:8080"],
    }


def test_the_setup_job_registers_the_apps_search_attributes() -> None:
    """The one-shot job creates the search attributes the app declares, with their types."""
    script = (ROOT / "deploy" / "compose" / "temporal-setup.sh").read_text()
    match = re.search(r"^for spec in (.+); do$", script, re.MULTILINE)
    assert match is not None
    in_script = dict(spec.split(":") for spec in match[1].split())
    kinds = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList"}
    declared = {key.name: kinds[key.indexed_value_type.name] for key in SEARCH_ATTRIBUTES}
    assert in_script == declared
    compose = load_compose()["services"]["temporal-setup"]
    assert compose["image"].startswith("temporalio/admin-tools:")
    assert compose["entrypoint"][-1] == "/stackchain-setup/temporal-setup.sh"


def test_temporal_gets_the_dynamic_config_the_embedded_server_runs_with() -> None:
    """Compose's Temporal reads its task queues as often as the dev server the tests use."""
    temporal = load_compose()["services"]["temporal"]
    path = temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    (mount,) = temporal["volumes"]
    source, target, mode = mount.split(":")
    assert (target, mode) == (path, "ro")
    entries = yaml.safe_load((ROOT / source).read_text())
    assert {key: values[0]["value"] for key, values in entries.items()} == DYNAMIC_CONFIG


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_setup_scripts_parse_as_posix_shell(script: Path) -> None:
    """The one-shot jobs' scripts are valid POSIX sh (and pass shellcheck where installed)."""
    result = subprocess.run(  # noqa: S603 - a fixed command line
        ["/bin/sh", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    shellcheck = shutil.which("shellcheck")
    if shellcheck is not None:
        result = subprocess.run(  # noqa: S603 - a fixed command line
            [shellcheck, "--shell=sh", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout
