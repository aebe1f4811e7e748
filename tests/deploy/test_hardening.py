"""Container hardening and secrets in the deployment files: compose's api and worker run
read-only, without capabilities or privilege gains, with memory caps and a tmpfs; the pods run
under the restricted profile; Temporal's ports stay on loopback; no committed file holds a secret
value."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from app.core.settings import Settings
from tests.deploy.deployfiles import (
    COMPOSE_FILE,
    DOCKERFILE,
    K8S_DIR,
    ROOT,
    interpolate,
    k8s_objects,
    load_compose,
    stackchain_containers,
    stackchain_services,
)
from tests.deploy.test_compose import OPERATOR_ENV, run_config

_SIZE = re.compile(r"(?P<number>\d+)(?P<unit>[kmg]?)b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def _bytes(value: str | int) -> int:
    match = _SIZE.fullmatch(str(value))
    assert match is not None, value
    return int(match["number"]) * _UNITS[match["unit"].lower()]


def _secret_settings() -> set[str]:
    """The environment names of every setting the app treats as a secret (typed SecretStr)."""
    names: set[str] = set()
    for item in Settings.model_fields.values():
        if SecretStr in getattr(item.annotation, "__args__", (item.annotation,)):
            names.update(
                choice
                for choice in item.validation_alias.choices  # type: ignore[union-attr]
                if isinstance(choice, str) and choice.isupper()
            )
    return names


SECRETS = _secret_settings() | {"POSTGRES_PASSWORD", "SQL_PASSWORD", "POSTGRES_PWD"}


def test_the_secret_settings_are_found() -> None:
    """The list the checks below use holds the app's secrets (not an empty set)."""
    assert {
        "STACKCHAIN_WEBHOOK_SECRET",
        "STACKCHAIN_API_TOKEN",
        "SPACELIFT_API_KEY_SECRET",
        "SPACELIFT_API_TOKEN",
        "TEMPORAL_API_KEY",
    } <= SECRETS


@pytest.mark.parametrize("name", ["api", "worker"])
def test_compose_runs_api_and_worker_locked_down(name: str) -> None:
    """Read-only root, a bounded noexec tmpfs on /tmp, no capabilities, no-new-privileges and a
    memory limit (``mem_limit``: the Compose Specification's key, which docker-compose 1.29 and
    Compose v2 both apply without swarm)."""
    service = stackchain_services(load_compose())[name]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "cap_add" not in service
    assert "no-new-privileges:true" in service["security_opt"]
    assert 128 * 2**20 <= _bytes(service["mem_limit"]) <= 2 * 2**30
    (tmpfs,) = service["tmpfs"]
    target, _, options = tmpfs.partition(":")
    assert target == "/tmp"  # noqa: S108 - the container's own tmpfs
    assert {"noexec", "nosuid"} <= set(options.split(","))
    assert _bytes(dict(o.split("=") for o in options.split(",") if "=" in o)["size"]) <= 2**28
    for mount in service["volumes"]:
        assert mount.endswith(":ro"), mount


def test_every_compose_service_has_no_new_privileges_and_a_memory_limit() -> None:
    """The third-party services too: no setuid gains, and a memory cap."""
    for name, service in load_compose()["services"].items():
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert _bytes(service["mem_limit"]) > 0, name
        assert not service.get("privileged", False), name


def test_docker_compose_keeps_the_hardening(tmp_path: Path) -> None:
    """docker-compose (1.29, Debian's) accepts the keys and passes them on, not dropped."""
    result = run_config(OPERATOR_ENV, tmp_path)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in ("api", "worker"):
        service = services[name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["mem_limit"], name
        assert service["tmpfs"], name


def test_temporal_and_its_ui_stay_on_loopback_whatever_port_is_chosen() -> None:
    """7233 and the Web UI are published on 127.0.0.1 also when .env moves their ports: the
    address is not a variable an operator can change by accident."""
    services = load_compose()["services"]
    env = {"TEMPORAL_PORT": "17233", "TEMPORAL_UI_PORT": "18080", "STACKCHAIN_API_PORT": "9000"}
    for name in ("temporal", "temporal-ui"):
        for port in services[name]["ports"]:
            assert interpolate(port, env).startswith("127.0.0.1:1"), (name, port)
    for name in ("postgresql", "temporal-schema", "temporal-setup", "worker"):
        assert not services[name].get("ports"), name
        assert not services[name].get("network_mode"), name


@pytest.mark.parametrize("deployment", ["stackchain-api", "stackchain-worker"])
def test_pods_meet_the_restricted_profile(deployment: str) -> None:
    """Non-root, seccomp RuntimeDefault, read-only root, no escalation, no capabilities, no
    host namespaces, no service-account token; the namespace enforces ``restricted``."""
    pod = k8s_objects("Deployment")[deployment]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key, False), key
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert not security.get("privileged", False)
        assert security.get("runAsNonRoot", True) is True
    labels = k8s_objects("Namespace")["stackchain"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def _k8s_files() -> list[Path]:
    return sorted(K8S_DIR.rglob("*.yaml"))


def test_no_secret_value_in_any_manifest() -> None:
    """No Secret object ships, no ConfigMap holds a secret setting, and every secret setting a
    container gets is a reference to the Secret, never a literal value."""
    documents: list[dict[str, Any]] = [
        doc for path in _k8s_files() for doc in yaml.safe_load_all(path.read_text()) if doc
    ]
    assert documents
    assert [doc for doc in documents if doc.get("kind") == "Secret"] == []
    for doc in documents:
        if doc.get("kind") == "ConfigMap":
            assert SECRETS.isdisjoint(doc.get("data", {})), doc["metadata"]["name"]
    containers = list(stackchain_containers())
    assert containers
    for name, container in containers:
        for item in container.get("env", []):
            if item["name"] in SECRETS:
                assert "value" not in item, (name, item["name"])
                assert item["valueFrom"]["secretKeyRef"]["name"] == "stackchain"


def test_compose_takes_every_secret_from_the_environment() -> None:
    """Every secret compose passes is a required ``${VARIABLE:?...}``, or passed on when set:
    no literal value and no default in the committed file."""
    seen = set()
    for name, service in load_compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key not in SECRETS:
                continue
            seen.add(key)
            if value is None:
                continue
            match = re.fullmatch(r"\$\{(?P<var>[A-Z_]+)(?::\?[^}]*)?\}", str(value))
            assert match is not None, (name, key, value)
    assert {"STACKCHAIN_WEBHOOK_SECRET", "STACKCHAIN_API_TOKEN", "POSTGRES_PASSWORD"} <= seen


def test_no_deployment_file_holds_key_material() -> None:
    """No private key, Standard Webhooks secret or Authorization value anywhere in them, and the
    image sets no secret setting."""
    files = [COMPOSE_FILE, DOCKERFILE, *_k8s_files(), *sorted((ROOT / "deploy").rglob("*.sh"))]
    for path in files:
        text = path.read_text()
        for marker in ("PRIVATE KEY-----", "whsec_", "Bearer ey", "AKIA"):
            assert marker not in text, (path.name, marker)
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith(("ENV", "ARG")):
            assert not any(name in line for name in SECRETS), line
