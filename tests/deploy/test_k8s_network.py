"""deploy/k8s NetworkPolicies, evaluated offline with Kubernetes' rules: nothing reaches the
stackchain namespace but the api's HTTP port; its pods reach only Temporal's frontend and DNS,
and the workers HTTPS outside the cluster (Spacelift). The example policy for Temporal's own
namespace admits only Temporal's pods and stackchain's api and worker."""

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as k8s_validate  # type: ignore[import-untyped]

from tests.deploy.deployfiles import K8S_DIR, k8s_objects

TEMPORAL_EXAMPLE = K8S_DIR / "temporal-namespace" / "networkpolicy.yaml"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)


# Peers as the policies see them: a pod (namespace and labels) or an address outside the cluster.
Peer = Pod | str

API = Pod("stackchain", {"app.kubernetes.io/name": "stackchain-api"})
WORKER = Pod("stackchain", {"app.kubernetes.io/name": "stackchain-worker"})
OTHER_POD = Pod("stackchain", {"app": "debug-shell"})
TEMPORAL_FRONTEND = Pod(
    "temporal",
    {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "frontend"},
)
TEMPORAL_HISTORY = Pod(
    "temporal",
    {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "history"},
)
KUBE_DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
ELSEWHERE = Pod("default", {"app": "anything"})
INTERNET = "203.0.113.10"
PRIVATE = "10.1.2.3"
METADATA = "169.254.169.254"


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions) against labels; {} selects all."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _namespace_labels(name: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": name}


def _peer_matches(peer_rule: Mapping[str, Any], peer: Peer, policy_namespace: str) -> bool:
    if isinstance(peer, str):
        block = peer_rule.get("ipBlock")
        if block is None:
            return False
        address = ipaddress.ip_address(peer)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if "ipBlock" in peer_rule:
        return False  # pods are matched by selectors (an ipBlock is for outside the cluster)
    namespaces = peer_rule.get("namespaceSelector")
    if namespaces is None:
        in_namespace = peer.namespace == policy_namespace
    else:
        in_namespace = _selects(namespaces, _namespace_labels(peer.namespace))
    return in_namespace and _selects(peer_rule.get("podSelector", {}), peer.labels)


def _port_matches(rule: Mapping[str, Any], port: int, protocol: str) -> bool:
    if not rule.get("ports"):
        return True
    for item in rule["ports"]:
        if item.get("protocol", "TCP") != protocol:
            continue
        if "port" not in item:
            return True
        assert isinstance(item["port"], int), "ports are numbers here"
        if item["port"] <= port <= item.get("endPort", item["port"]):
            return True
    return False


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    return spec.get("policyTypes") or ["Ingress"] + (["Egress"] if "egress" in spec else [])


def allowed(
    policies: list[dict[str, Any]],
    pod: Pod,
    direction: str,
    peer: Peer,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether ``pod`` may receive (Ingress) from or send (Egress) to ``peer`` on ``port``."""
    selecting = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == pod.namespace
        and _selects(policy["spec"]["podSelector"], pod.labels)
        and direction in _policy_types(policy["spec"])
    ]
    if not selecting:
        return True  # not isolated in this direction
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            peer_ok = not peers or any(
                _peer_matches(item, peer, policy["metadata"]["namespace"]) for item in peers
            )
            if peer_ok and _port_matches(rule, port, protocol):
                return True
    return False


POLICIES = list(k8s_objects("NetworkPolicy").values())


def test_the_evaluator_knows_an_unselected_pod_is_open() -> None:
    """The rules above are not vacuous: without a policy, traffic flows; with one, it stops."""
    assert allowed([], API, "Ingress", INTERNET, 22)
    deny = {
        "metadata": {"namespace": "stackchain"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    assert not allowed([deny], API, "Ingress", INTERNET, 22)
    assert allowed([deny], API, "Egress", INTERNET, 22)


def test_the_namespace_denies_everything_by_default() -> None:
    """A policy selects every pod of the namespace, both ways, and allows nothing."""
    defaults = [
        policy
        for policy in POLICIES
        if policy["spec"]["podSelector"] == {}
        and set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not policy["spec"].get("ingress")
        and not policy["spec"].get("egress")
    ]
    assert len(defaults) == 1
    for peer in (INTERNET, PRIVATE, API, WORKER, ELSEWHERE, TEMPORAL_FRONTEND, KUBE_DNS):
        for port in (53, 80, 443, 7233, 8000):
            assert not allowed(POLICIES, OTHER_POD, "Ingress", peer, port), (peer, port)
            assert not allowed(POLICIES, OTHER_POD, "Egress", peer, port), (peer, port)


def test_the_api_accepts_only_its_http_port_from_anywhere() -> None:
    """The api pods' container port is reachable from any source (the Ingress needs it);
    no other port is, from anywhere."""
    (container,) = k8s_objects("Deployment")["stackchain-api"]["spec"]["template"]["spec"][
        "containers"
    ]
    (http,) = [port for port in container["ports"] if port["name"] == "http"]
    assert http["containerPort"] == 8000
    for peer in (INTERNET, PRIVATE, ELSEWHERE, Pod("ingress-nginx", {"app": "controller"})):
        assert allowed(POLICIES, API, "Ingress", peer, 8000), peer
        for port in (22, 80, 443, 7233, 8001, 9090):
            assert not allowed(POLICIES, API, "Ingress", peer, port), (peer, port)
        assert not allowed(POLICIES, API, "Ingress", peer, 8000, "UDP"), peer


def test_the_worker_accepts_nothing() -> None:
    """No source reaches a worker pod on any port."""
    for peer in (INTERNET, PRIVATE, API, ELSEWHERE, TEMPORAL_FRONTEND):
        for port in (22, 80, 443, 7233, 8000, 9090):
            assert not allowed(POLICIES, WORKER, "Ingress", peer, port), (peer, port)


@pytest.mark.parametrize("pod", [API, WORKER], ids=["api", "worker"])
def test_api_and_worker_reach_temporal_and_dns_only_there(pod: Pod) -> None:
    """Both reach Temporal's frontend on 7233 and the cluster DNS on 53, and no other pod, port
    or namespace: not Temporal's other services, not each other, not other namespaces."""
    assert allowed(POLICIES, pod, "Egress", TEMPORAL_FRONTEND, 7233)
    assert allowed(POLICIES, pod, "Egress", KUBE_DNS, 53, "UDP")
    assert allowed(POLICIES, pod, "Egress", KUBE_DNS, 53, "TCP")
    for port in (7234, 7235, 6933, 8080, 9090):
        assert not allowed(POLICIES, pod, "Egress", TEMPORAL_FRONTEND, port), port
    assert not allowed(POLICIES, pod, "Egress", TEMPORAL_HISTORY, 7233)
    for peer in (API, WORKER, OTHER_POD, ELSEWHERE, Pod("other", dict(TEMPORAL_FRONTEND.labels))):
        for port in (53, 443, 7233, 8000):
            assert not allowed(POLICIES, pod, "Egress", peer, port), (peer, port)
    assert not allowed(POLICIES, pod, "Egress", KUBE_DNS, 443)
    for address in (PRIVATE, METADATA):
        for port in (80, 443, 7233):
            assert not allowed(POLICIES, pod, "Egress", address, port), (address, port)


def test_only_the_worker_reaches_spacelift_over_https() -> None:
    """The worker may open HTTPS to an address outside the cluster's private ranges (Spacelift);
    the API process makes no Spacelift call, so it may not; plain HTTP is closed to both."""
    assert allowed(POLICIES, WORKER, "Egress", INTERNET, 443)
    assert not allowed(POLICIES, WORKER, "Egress", INTERNET, 80)
    assert not allowed(POLICIES, API, "Egress", INTERNET, 443)
    assert not allowed(POLICIES, API, "Egress", INTERNET, 80)


def test_the_temporal_selector_matches_the_configured_address() -> None:
    """The namespace the policies let the pods reach is the one TEMPORAL_ADDRESS names, on its
    port: the two are edited together."""
    address = k8s_objects("ConfigMap")["stackchain-settings"]["data"]["TEMPORAL_ADDRESS"]
    host, _, port = address.rpartition(":")
    service, namespace, *_ = host.split(".")
    assert service
    assert allowed(
        POLICIES, API, "Egress", Pod(namespace, dict(TEMPORAL_FRONTEND.labels)), int(port)
    )


def _temporal_example() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(TEMPORAL_EXAMPLE.read_text()) if doc]


@pytest.mark.parametrize("version", ["1.29.0", k8s_validate.latest_version()])
def test_the_temporal_namespace_example_is_valid(version: str) -> None:
    """The example for Temporal's namespace passes the strict schema, outside the kustomization."""
    documents = _temporal_example()
    assert [doc["kind"] for doc in documents] == ["NetworkPolicy"]
    for doc in documents:
        assert doc["metadata"]["namespace"] == "temporal"
        k8s_validate.validate(doc, version, strict=True)
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert not any("temporal-namespace" in entry for entry in kustomization["resources"])


def test_the_temporal_namespace_example_admits_only_stackchain_and_temporal() -> None:
    """Temporal's frontend admits its own namespace's pods and stackchain's api and worker on
    7233; other stackchain pods, other namespaces and the internet get nothing."""
    policies = _temporal_example()
    assert allowed(policies, TEMPORAL_FRONTEND, "Ingress", API, 7233)
    assert allowed(policies, TEMPORAL_FRONTEND, "Ingress", WORKER, 7233)
    assert allowed(policies, TEMPORAL_FRONTEND, "Ingress", TEMPORAL_HISTORY, 6933)
    assert not allowed(policies, TEMPORAL_FRONTEND, "Ingress", API, 6933)
    for peer in (OTHER_POD, ELSEWHERE, INTERNET, PRIVATE):
        assert not allowed(policies, TEMPORAL_FRONTEND, "Ingress", peer, 7233), peer


def test_the_kubernetes_readme_documents_the_policies() -> None:
    """deploy/k8s/README.md says that Temporal access is deployment access, where Temporal's
    address is chosen in the policies, and why secrets stay environment variables."""
    text = (K8S_DIR / "README.md").read_text()
    for phrase in (
        "networkpolicy.yaml",
        "stackchain-temporal-and-dns",
        "temporal-namespace/networkpolicy.yaml",
        "access to your deployments",
        "environment variables",
    ):
        assert phrase in text, phrase


def test_every_policy_file_is_a_resource() -> None:
    """networkpolicy.yaml is applied with the rest (kustomization resources)."""
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert "networkpolicy.yaml" in kustomization["resources"]
    names = {policy["metadata"]["name"] for policy in POLICIES}
    assert {
        "stackchain-default-deny",
        "stackchain-api-ingress",
        "stackchain-temporal-and-dns",
        "stackchain-worker-spacelift",
    } <= names
