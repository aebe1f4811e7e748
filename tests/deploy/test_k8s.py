"""deploy/k8s: schema-valid manifests (offline, kubernetes-validate's bundled schemas) that run
the api and worker safely and pass them the settings the app reads, secrets by reference only."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as k8s_validate  # type: ignore[import-untyped]

from app.core.settings import check_bind, load_settings
from app.core.webhook_secret import resolve_webhook_secret
from app.stackfile import parse_stack_graph
from tests.deploy.deployfiles import (
    K8S_DIR,
    k8s_container_env,
    k8s_documents,
    k8s_objects,
    setting_names,
    stackchain_containers,
)

# The oldest Kubernetes still commonly run, and the newest the package knows.
VERSIONS = ["1.29.0", k8s_validate.latest_version()]
DOCUMENTS = k8s_documents()
API_KEY = {"SPACELIFT_API_KEY_ID", "SPACELIFT_API_KEY_SECRET"}


def _id(item: tuple[Path, dict[str, Any]]) -> str:
    path, doc = item
    return f"{path.name}:{doc['kind']}/{doc['metadata']['name']}"


def _validate(doc: dict[str, Any], version: str) -> None:
    k8s_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("item", DOCUMENTS, ids=[_id(item) for item in DOCUMENTS])
def test_manifest_is_valid_for_kubernetes(item: tuple[Path, dict[str, Any]], version: str) -> None:
    """Each object passes the strict (no unknown fields) Kubernetes schema of that version."""
    _validate(item[1], version)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    """The check is not vacuous: a misspelt field in the api Deployment fails it."""
    deployment = copy.deepcopy(k8s_objects("Deployment")["stackchain-api"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(k8s_validate.ValidationError):
        _validate(deployment, VERSIONS[-1])


def test_the_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml names each manifest file of deploy/k8s, and only those."""
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    files = {path.name for path, _ in DOCUMENTS}
    assert set(kustomization["resources"]) == files
    assert kustomization["namespace"] == "stackchain"
    assert {doc["metadata"].get("namespace", "stackchain") for _, doc in DOCUMENTS} == {
        "stackchain"
    }


def test_there_are_the_expected_objects() -> None:
    """Namespace, api and worker Deployments, Service, Ingress, HPA and both ConfigMaps exist."""
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in DOCUMENTS}
    assert {
        ("Namespace", "stackchain"),
        ("Deployment", "stackchain-api"),
        ("Deployment", "stackchain-worker"),
        ("Service", "stackchain-api"),
        ("Ingress", "stackchain"),
        ("HorizontalPodAutoscaler", "stackchain-worker"),
        ("ConfigMap", "stackchain-settings"),
        ("ConfigMap", "stackchain-stacks"),
    } <= kinds


def test_secrets_are_referenced_never_stored() -> None:
    """No Secret object ships with values; the pods read secrets through secretKeyRef only."""
    assert k8s_objects("Secret") == {}
    settings = k8s_objects("ConfigMap")["stackchain-settings"]["data"]
    secret_settings = {
        "STACKCHAIN_WEBHOOK_SECRET",
        "STACKCHAIN_API_TOKEN",
        "SPACELIFT_API_KEY_SECRET",
        "SPACELIFT_API_TOKEN",
        "TEMPORAL_API_KEY",
    }
    assert secret_settings.isdisjoint(settings)
    for _, container in stackchain_containers():
        for item in container.get("env", []):
            if item["name"] in secret_settings:
                assert item["valueFrom"]["secretKeyRef"]["name"] == "stackchain"


def test_containers_get_only_settings_the_app_reads() -> None:
    """Every variable the manifests give a stackchain container is a settings alias of the app."""
    known = setting_names()
    containers = list(stackchain_containers())
    assert {name for name, _ in containers} == {"stackchain-api", "stackchain-worker"}
    for name, container in containers:
        every = k8s_container_env(container, secret_keys=setting_names())
        assert set(every) - known == set(), name


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    "secret_keys", [API_KEY, {"SPACELIFT_API_TOKEN"}], ids=["api-key", "token"]
)
def test_containers_get_every_setting_they_need(secret_keys: set[str]) -> None:
    """With the Secret holding a Spacelift key or token, api and worker settings validate
    against the settings model: a real account, a Temporal address, the webhook secret and an
    API token for the api's public bind."""
    references = set()
    for name, container in stackchain_containers():
        env = k8s_container_env(container, secret_keys=secret_keys)
        settings = load_settings(**env)
        assert not settings.uses_sandbox, name
        assert not settings.embedded_temporal, name
        assert settings.config_path == Path("/etc/stackchain/stacks.yaml"), name
        references |= {
            item["valueFrom"]["secretKeyRef"]["key"]
            for item in container.get("env", [])
            if "valueFrom" in item
        }
        if name == "stackchain-api":
            resolve_webhook_secret(settings)
            args = container["args"]
            check_bind(args[args.index("--host") + 1], has_token=settings.api_token is not None)
    assert API_KEY | {"SPACELIFT_API_TOKEN", "TEMPORAL_API_KEY"} <= references


@pytest.mark.usefixtures("clean_environment")
def test_the_api_needs_its_webhook_secret_and_token_from_the_secret() -> None:
    """The api's webhook secret and API token are required keys, not optional ones."""
    (container,) = [c for name, c in stackchain_containers() if name == "stackchain-api"]
    required = {
        item["name"]
        for item in container["env"]
        if not item["valueFrom"]["secretKeyRef"].get("optional", False)
    }
    assert required == {"STACKCHAIN_WEBHOOK_SECRET", "STACKCHAIN_API_TOKEN"}


def test_the_api_has_health_probes_and_the_worker_scales() -> None:
    """api: liveness on /healthz, readiness on /readyz; worker: 2+ replicas under an HPA."""
    deployments = k8s_objects("Deployment")
    (api,) = deployments["stackchain-api"]["spec"]["template"]["spec"]["containers"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    worker = deployments["stackchain-worker"]
    assert worker["spec"]["replicas"] >= 2
    hpa = k8s_objects("HorizontalPodAutoscaler")["stackchain-worker"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "stackchain-worker",
    }
    assert hpa["minReplicas"] >= 2
    assert hpa["maxReplicas"] > hpa["minReplicas"]


@pytest.mark.parametrize("deployment", ["stackchain-api", "stackchain-worker"])
def test_pods_run_locked_down_with_resources(deployment: str) -> None:
    """Non-root, read-only root file system, no privilege escalation, requests and limits."""
    pod = k8s_objects("Deployment")[deployment]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts["/etc/stackchain"] == "stacks"
        assert mounts["/tmp"] == "tmp"  # noqa: S108 - the pod's own emptyDir


def test_the_ingress_routes_the_webhook_path_to_the_api() -> None:
    """The Ingress sends /webhooks/spacelift to the api Service's port that targets the pods."""
    (rule,) = k8s_objects("Ingress")["stackchain"]["spec"]["rules"]
    paths = {path["path"]: path["backend"]["service"] for path in rule["http"]["paths"]}
    backend = paths["/webhooks/spacelift"]
    service = k8s_objects("Service")[backend["name"]]["spec"]
    (port,) = [p for p in service["ports"] if p["name"] == backend["port"]["name"]]
    (api,) = k8s_objects("Deployment")["stackchain-api"]["spec"]["template"]["spec"]["containers"]
    assert port["targetPort"] in {p["name"] for p in api["ports"]}
    pod_labels = k8s_objects("Deployment")["stackchain-api"]["spec"]["template"]["metadata"]
    assert service["selector"].items() <= pod_labels["labels"].items()


def test_the_dependency_file_config_map_is_a_valid_file() -> None:
    """The stacks ConfigMap holds a dependency file stackchain accepts."""
    text = k8s_objects("ConfigMap")["stackchain-stacks"]["data"]["stacks.yaml"]
    graph = parse_stack_graph(text, file="stacks.yaml")
    assert graph.plan("network").stacks
