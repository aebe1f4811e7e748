"""The loopback-only mode (no STACKCHAIN_API_TOKEN): a foreign Host is 400, a foreign Origin 403.

DNS rebinding makes a browser send ``Host: <the attacker's name>`` to 127.0.0.1; a web page's blind
cross-site POST carries the page's ``Origin``. Neither rule applies once a token is set.
"""

import ipaddress
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.web.loopback import is_loopback_name, origin_of, split_host, url_origin
from tests.unit.app.launch.served import serving
from tests.unit.app.web.webapp import TOKEN, WebApp, build, settings_for

PUBLIC_URL = "https://stackchain.example.com/console"
PUBLIC = "https://stackchain.example.com"
OWN = "http://127.0.0.1:8000"
PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(settings_for(tmp_path, public_url=PUBLIC_URL))


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)
ports = st.none() | st.integers(1, 65535)


def with_port(name: str, port: int | None) -> str:
    return name if port is None else f"{name}:{port}"


foreign_names = (
    names.filter(lambda n: not is_loopback_name(n))
    | st.ip_addresses(v=4).filter(lambda a: not a.is_loopback).map(str)
    | st.ip_addresses(v=6).filter(lambda a: not a.is_loopback).map(lambda a: f"[{a}]")
    | st.sampled_from(["rebind.attacker.example", "localhost.attacker.example", "0.0.0.0", ""])  # noqa: S104
)
loopback_names = (
    st.just("localhost")
    | names.map(lambda n: f"{n}.localhost")
    | st.ip_addresses(network=ipaddress.ip_network("127.0.0.0/8")).map(str)
    | st.just("[::1]")
)
foreign_hosts = st.builds(with_port, foreign_names, ports)
loopback_hosts = st.builds(with_port, loopback_names, ports)
changing = st.sampled_from(["POST", "PUT", "PATCH", "DELETE"])


@PROPERTY
@given(host=foreign_hosts, path=st.sampled_from(["/api/v1/graph", "/metrics", "/openapi.json"]))
async def test_any_host_not_loopback_is_400(web: WebApp, host: str, path: str) -> None:
    """Any Host that is not a loopback name or address is 400 {"detail"}, on every route."""
    async with web.client() as client:
        answer = await client.get(path, headers={"Host": host})
    assert answer.status_code == 400, host
    assert "loopback Host" in answer.json()["detail"]


@PROPERTY
@given(host=foreign_hosts)
async def test_a_foreign_host_never_reaches_the_webhook_or_the_api(web: WebApp, host: str) -> None:
    """The refusal comes before the routes: nothing is started or handed to a lane."""
    async with web.client() as client:
        started = await client.post(
            "/api/v1/chains", json={"stack": "network"}, headers={"Host": host}
        )
        hooked = await client.post("/webhooks/spacelift", content=b"{}", headers={"Host": host})
    assert (started.status_code, hooked.status_code) == (400, 400)
    assert web.chains.started == []
    assert web.signaler.events == []


@PROPERTY
@given(host=foreign_hosts, path=st.sampled_from(["/healthz", "/readyz"]))
async def test_the_probes_answer_any_host(web: WebApp, host: str, path: str) -> None:
    """/healthz and /readyz answer whatever the Host (a kubelet probes by pod IP)."""
    async with web.client() as client:
        answer = await client.get(path, headers={"Host": host})
    assert answer.status_code in {200, 503}


@PROPERTY
@given(host=loopback_hosts)
async def test_any_loopback_host_is_served(web: WebApp, host: str) -> None:
    """localhost, its subdomains, 127.0.0.0/8 and [::1], with or without a port, are served."""
    async with web.client() as client:
        answer = await client.get("/api/v1/graph", headers={"Host": host})
    assert answer.status_code == 200, host


origins = st.builds(
    lambda scheme, name, port: f"{scheme}://{with_port(name, port)}",
    st.sampled_from(["http", "https"]),
    foreign_names.filter(bool) | loopback_names,
    ports,
) | st.sampled_from(["null", "file://", "not a url", "http://127.0.0.1:8001"])


foreign_origins = origins.filter(lambda o: url_origin(o) not in {OWN, PUBLIC})


@PROPERTY
@given(origin=foreign_origins)
async def test_any_foreign_origin_on_a_changing_request_is_403(web: WebApp, origin: str) -> None:
    """A POST from any Origin but the request's own (scheme and Host) or the public URL's is 403,
    and starts nothing; PUT, PATCH and DELETE too."""
    async with web.client() as client:
        answer = await client.post(
            "/api/v1/chains", json={"stack": "network"}, headers={"Origin": origin}
        )
        cancel = await client.post(
            "/api/v1/chains/chain-network-r1/cancel", headers={"Origin": origin}
        )
    assert (answer.status_code, cancel.status_code) == (403, 403), origin
    assert "foreign Origin" in answer.json()["detail"]
    assert web.chains.started == []
    assert web.chains.canceled == []


@PROPERTY
@given(method=changing, origin=foreign_origins)
async def test_every_changing_method_is_checked(web: WebApp, method: str, origin: str) -> None:
    """PUT, PATCH and DELETE get the same rule as POST, before routing (no route has them)."""
    async with web.client() as client:
        answer = await client.request(method, "/api/v1/chains", headers={"Origin": origin})
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [None, OWN, "http://127.0.0.1:8000/", "HTTP://127.0.0.1:8000", PUBLIC],
)
async def test_own_public_or_no_origin_may_change_things(
    web: WebApp, client: httpx.AsyncClient, origin: str | None
) -> None:
    """A same-origin page (the console's own POSTs), the public URL's pages and clients without
    an Origin (CLI, curl) are served."""
    headers = {} if origin is None else {"Origin": origin}
    answer = await client.post("/api/v1/chains", json={"stack": "network"}, headers=headers)
    approve = await client.post(
        "/api/v1/chains/chain-network-r1/stacks/database/approve", headers=headers
    )
    assert (answer.status_code, approve.status_code) == (202, 202)
    assert web.chains.started == [("network", False)]


async def test_a_foreign_origin_may_read(client: httpx.AsyncClient) -> None:
    """GET changes nothing: a foreign Origin is not refused for it (CORS keeps the answer from
    the page's script)."""
    answer = await client.get("/api/v1/graph", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200


async def test_with_a_token_neither_rule_applies(tmp_path: Path) -> None:
    """Once STACKCHAIN_API_TOKEN is set the server may be public: any Host, any Origin, as long
    as the token is right."""
    web = build(settings_for(tmp_path, api_token=TOKEN))
    headers = {
        "Host": "stackchain.example.com",
        "Origin": "https://evil.example",
        "Authorization": f"Bearer {TOKEN}",
    }
    async with web.client() as client:
        started = await client.post("/api/v1/chains", json={"stack": "network"}, headers=headers)
        unauthorised = await client.post(
            "/api/v1/chains", json={"stack": "network"}, headers={"Host": "x.example"}
        )
    assert started.status_code == 202
    assert unauthorised.status_code == 401


async def test_dns_rebinding_is_refused_by_the_real_server(tmp_path: Path) -> None:
    """Through uvicorn: a request to 127.0.0.1 naming the attacker's host is 400; the same
    request naming 127.0.0.1 is served."""
    settings = settings_for(tmp_path)
    async with (
        serving(build(settings).app, settings) as (_, port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        rebound = await http.get("/api/v1/graph", headers={"Host": "rebind.attacker.example"})
        local = await http.get("/api/v1/graph")
        blind = await http.post(
            "/api/v1/chains/chain-network-r1/cancel", headers={"Origin": "https://evil.example"}
        )
    assert rebound.status_code == 400
    assert local.status_code == 200
    assert blind.status_code == 403


@pytest.mark.parametrize(
    ("host", "parts"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("LOCALHOST", ("localhost", None)),
        ("[::1]:80", ("::1", 80)),
        ("::1", ("::1", None)),
        ("[::1", None),
        ("[::1]x", None),
        ("host:port", None),
        ("host:123456", None),
    ],
)
def test_split_host(host: str, parts: tuple[str, int | None] | None) -> None:
    """``name[:port]`` and ``[v6]:port`` split; anything malformed is None."""
    assert split_host(host) == parts


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000/x?y", OWN),
        ("https://user@Example.com:443/", "https://example.com"),
        ("http://[::1]:80", "http://[::1]"),
        ("null", None),
        ("file://", None),
    ],
)
def test_url_origin(url: str, origin: str | None) -> None:
    """A URL's origin: lower-case scheme and host, the scheme's default port left out."""
    assert url_origin(url) == origin


def test_origin_of_a_malformed_host_is_none() -> None:
    """An own origin cannot be built from a malformed Host (so nothing matches it)."""
    assert origin_of("http", "[::1") is None
    assert origin_of("http", "") is None
