"""Reading the deployment files the way their tools do, for the tests of ``tests/deploy``.

Compose files are interpolated here with the few forms ``docker-compose.yml`` uses
(``${NAME}``, ``${NAME:-default}``, ``${NAME:?message}``); Kubernetes containers get their
environment from ``env`` and ``envFrom`` (ConfigMaps resolved from the manifests themselves).
"""

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices

from app.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "config" / ".env.example"
K8S_DIR = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
PLACEHOLDER = "placeholder-value"

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class MissingVariableError(KeyError):
    """A ``${NAME:?message}`` whose variable is unset or empty, as compose refuses it."""


def setting_names() -> set[str]:
    """The environment variables the app reads: the settings model's upper-case aliases."""
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices), field
        names.update(choice for choice in alias.choices if isinstance(choice, str))
    return {name for name in names if name.isupper()}


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's substitution of ``value`` from ``env``."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name, "")
        if op == ":?" and not current:
            raise MissingVariableError(f"{name}: {arg}")
        if op == ":-" and not current:
            return arg
        return current

    return _VARIABLE.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def compose_variables(text: str) -> set[str]:
    """Every variable a compose file substitutes."""
    return {match["name"] for match in _VARIABLE.finditer(text.replace("$$", ""))}


def load_compose() -> dict[str, Any]:
    """docker-compose.yml as YAML (merge keys resolved), not yet interpolated."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def is_stackchain_image(image: str) -> bool:
    """True for the image the Dockerfile builds, whatever its registry and tag."""
    return image.rsplit("/", 1)[-1].split(":", 1)[0] == "stackchain"


def stackchain_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services that run the stackchain image."""
    services: dict[str, dict[str, Any]] = compose["services"]
    return {
        name: service
        for name, service in services.items()
        if "build" in service or is_stackchain_image(str(service.get("image", "")))
    }


def compose_container_env(service: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """The variables a service's container gets when compose runs with ``env`` (.env + shell).

    A key without a value passes the variable on only when ``env`` has it, as compose does.
    """
    declared = service.get("environment", {})
    assert isinstance(declared, dict), "environment is written as a mapping"
    result = {}
    for key, value in declared.items():
        if value is None:
            if key in env:
                result[key] = env[key]
        else:
            result[key] = interpolate(str(value), env)
    return result


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object in deploy/k8s, with the file it is in (kustomization excluded)."""
    documents: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents.extend((path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def k8s_objects(kind: str) -> dict[str, dict[str, Any]]:
    """The objects of one kind, by name."""
    return {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc.get("kind") == kind}


def stackchain_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    """(Deployment name, container) for every container running the stackchain image."""
    for name, deployment in k8s_objects("Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if is_stackchain_image(container["image"]):
                yield name, container


def k8s_container_env(
    container: Mapping[str, Any], *, secret_keys: set[str] | None = None
) -> dict[str, str]:
    """The variables a container gets: ConfigMaps (envFrom) resolved from the manifests, then
    ``env``; a secret key reference counts when it is required or in ``secret_keys``."""
    config_maps = k8s_objects("ConfigMap")
    result: dict[str, str] = {}
    for source in container.get("envFrom", []):
        reference = source["configMapRef"]["name"]
        result.update(config_maps[reference]["data"])
    for item in container.get("env", []):
        if "value" in item:
            result[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        if not ref.get("optional", False) or ref["key"] in (secret_keys or set()):
            result[item["name"]] = PLACEHOLDER
    return result
