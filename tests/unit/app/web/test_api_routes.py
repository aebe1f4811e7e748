"""The operator API over ASGI: auth, the contract's shapes, error codes, health and OpenAPI."""

from pathlib import Path

import httpx
import pytest

from app.core.settings import BindRefusedError, check_bind
from tests.unit.app.web.webapp import TOKEN, WebApp, build, settings_for

GOOD = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(settings_for(tmp_path, api_token=TOKEN))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
    ],
)
async def test_api_needs_the_bearer_token(
    web: WebApp, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Missing or wrong tokens are 401 with a JSON detail, and start nothing."""
    for method, path in (("GET", "/api/v1/graph"), ("POST", "/api/v1/chains")):
        answer = await client.request(method, path, headers=headers, json={"stack": "network"})
        assert answer.status_code == 401
        assert answer.json()["detail"]
        assert answer.headers["www-authenticate"] == "Bearer"
    assert web.chains.started == []


async def test_good_token_is_let_in(client: httpx.AsyncClient) -> None:
    """The right token reaches the routes."""
    answer = await client.get("/api/v1/graph", headers=GOOD)
    assert answer.status_code == 200


async def test_without_a_token_only_loopback_clients_are_served(tmp_path: Path) -> None:
    """No STACKCHAIN_API_TOKEN: loopback clients are served, any other is 403."""
    web = build(settings_for(tmp_path))
    async with web.client() as local:
        assert (await local.get("/api/v1/graph")).status_code == 200
    async with web.client(client=("10.1.2.3", 4000)) as remote:
        answer = await remote.get("/api/v1/graph")
    assert answer.status_code == 403
    assert "STACKCHAIN_API_TOKEN" in answer.json()["detail"]


def test_binding_beyond_loopback_needs_a_token() -> None:
    """check_bind refuses 0.0.0.0 without a token and allows loopback or a token."""
    with pytest.raises(BindRefusedError, match="STACKCHAIN_API_TOKEN"):
        check_bind("0.0.0.0", has_token=False)  # noqa: S104 - the address being refused
    check_bind("127.0.0.1", has_token=False)
    check_bind("::1", has_token=False)
    check_bind("localhost", has_token=False)
    check_bind("0.0.0.0", has_token=True)  # noqa: S104 - allowed with a token


async def test_graph_as_json_and_mermaid(client: httpx.AsyncClient) -> None:
    """GET /api/v1/graph: the contract's JSON, or Mermaid text with ?format=mermaid."""
    answer = await client.get("/api/v1/graph", headers=GOOD)
    assert answer.json() == {
        "stacks": ["network", "database", "app", "lonely"],
        "edges": [["network", "database"], ["database", "app"]],
    }
    mermaid = await client.get("/api/v1/graph", params={"format": "mermaid"}, headers=GOOD)
    assert mermaid.headers["content-type"].startswith("text/plain")
    assert mermaid.text.startswith("flowchart")


async def test_plan_and_unknown_stack(client: httpx.AsyncClient) -> None:
    """GET /api/v1/plan?stack=S gives the waves; an unknown stack is 404."""
    plan = await client.get("/api/v1/plan", params={"stack": "network"}, headers=GOOD)
    assert plan.json() == {"root": "network", "waves": [["database"], ["app"]], "may_skip": []}
    unknown = await client.get("/api/v1/plan", params={"stack": "netwrk"}, headers=GOOD)
    assert unknown.status_code == 404
    assert "netwrk" in unknown.json()["detail"]
    missing = await client.get("/api/v1/plan", headers=GOOD)
    assert missing.status_code == 422


async def test_start_chain(web: WebApp, client: httpx.AsyncClient) -> None:
    """POST /api/v1/chains: 202 with the chain id; 404 unknown stack; 422 bad body."""
    body = {"stack": "network", "include_root": True}
    answer = await client.post("/api/v1/chains", json=body, headers=GOOD)
    assert answer.status_code == 202
    assert answer.json() == {"chain_id": "chain-network-manual-1"}
    assert web.chains.started == [("network", True)]
    unknown = await client.post("/api/v1/chains", json={"stack": "nope"}, headers=GOOD)
    assert unknown.status_code == 404
    for bad in ({}, {"stack": 3}, {"stack": "a b"}, {"stack": "x", "include_root": "maybe"}):
        assert (await client.post("/api/v1/chains", json=bad, headers=GOOD)).status_code == 422
    not_json = await client.post("/api/v1/chains", content=b"{", headers=GOOD)
    assert not_json.status_code == 422


async def test_chain_routes(web: WebApp, client: httpx.AsyncClient) -> None:
    """List, read, cancel and approve; 404 for unknown chains, 409 approving a stack not waiting."""
    listed = await client.get("/api/v1/chains", params={"status": "running"}, headers=GOOD)
    assert [c["chain_id"] for c in listed.json()["chains"]] == ["chain-network-r1"]
    done = await client.get("/api/v1/chains", params={"status": "succeeded"}, headers=GOOD)
    assert done.json() == {"chains": []}
    bad_status = await client.get("/api/v1/chains", params={"status": "nope"}, headers=GOOD)
    assert bad_status.status_code == 422

    chain = await client.get("/api/v1/chains/chain-network-r1", headers=GOOD)
    assert chain.json()["stacks"]["database"]["state"] == "awaiting_confirmation"
    assert (await client.get("/api/v1/chains/chain-x", headers=GOOD)).status_code == 404

    base = "/api/v1/chains/chain-network-r1"
    approved = await client.post(f"{base}/stacks/database/approve", headers=GOOD)
    assert approved.status_code == 202
    assert approved.json() == {"chain_id": "chain-network-r1", "stack": "database", "run_id": "r2"}
    refused = await client.post(f"{base}/stacks/app/approve", headers=GOOD)
    assert refused.status_code == 409
    assert "not awaiting confirmation" in refused.json()["detail"]
    outside = await client.post(f"{base}/stacks/nope/approve", headers=GOOD)
    assert outside.status_code == 404

    canceled = await client.post(f"{base}/cancel", headers=GOOD)
    assert canceled.status_code == 202
    assert web.chains.canceled == ["chain-network-r1"]
    assert (await client.post("/api/v1/chains/chain-x/cancel", headers=GOOD)).status_code == 404


async def test_health_readiness_and_metrics(tmp_path: Path) -> None:
    """/healthz is 200; /readyz is 503 saying "Temporal unreachable" (and nothing of Temporal's
    address or error), and naming a broken file."""
    web = build(settings_for(tmp_path, temporal_address="temporal.internal.example:7233"))
    async with web.client() as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"detail": "Temporal unreachable"}
        (tmp_path / "stacks.yaml").write_text("version: 1\nstacks:\n  a:\n    depends_on: [b]\n")
        broken = await client.get("/readyz")
        assert "dependency file" in broken.json()["detail"]
        graph = await client.get("/api/v1/graph")
        assert graph.status_code == 503
        assert "invalid" in graph.json()["detail"]
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert "stackchain_webhooks" in metrics.text


async def test_no_page_loads_from_a_cdn(client: httpx.AsyncClient) -> None:
    """FastAPI's /docs and /redoc pull Swagger UI and ReDoc from cdn.jsdelivr.net: they are
    off (404); the OpenAPI document stays, and nothing served names a CDN."""
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/docs/oauth2-redirect")).status_code == 404
    assert (await client.get("/redoc")).status_code == 404
    document = await client.get("/openapi.json")
    assert document.status_code == 200
    assert "cdn." not in document.text


async def test_openapi_documents_every_route_with_examples(client: httpx.AsyncClient) -> None:
    """/openapi.json lists the contract's routes, bearer auth, and carries examples."""
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/webhooks/spacelift",
        "/api/v1/graph",
        "/api/v1/plan",
        "/api/v1/chains",
        "/api/v1/chains/{chain_id}",
        "/api/v1/chains/{chain_id}/cancel",
        "/api/v1/chains/{chain_id}/stacks/{stack}/approve",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    schemas = document["components"]["schemas"]
    assert schemas["ChainOut"]["examples"]
    assert schemas["StartChainIn"]["examples"]
    webhook = paths["/webhooks/spacelift"]["post"]
    assert webhook["requestBody"]["content"]["application/json"]["examples"]
    assert set(webhook["responses"]) >= {"200", "202", "401", "408", "413", "422", "503"}
    start = paths["/api/v1/chains"]["post"]
    assert set(start["responses"]) >= {"400", "401", "403", "408", "413"}


async def test_invalid_requests_are_422_without_echoing_input(client: httpx.AsyncClient) -> None:
    """An Infinity in a body is 422 naming the field, not a 500, and the input is not echoed."""
    body = b'{"stack": "network", "include_root": Infinity}'
    headers = GOOD | {"Content-Type": "application/json"}
    answer = await client.post("/api/v1/chains", content=body, headers=headers)
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "include_root"]
    assert "input" not in problem
