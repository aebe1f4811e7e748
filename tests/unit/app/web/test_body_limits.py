"""The body guard in the app: each route's cap, the token checked before any body, the metrics."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Message

from app.web.body_guard import BODY_CAP
from app.web.webhooks.handler import MAX_BODY_BYTES
from tests.unit.app.web.webapp import TOKEN, WebApp, build, settings_for, sign

GOOD = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
HUGE = 200 * 1024 * 1024
"""The issue's attack: a 200 MB body."""


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(settings_for(tmp_path, api_token=TOKEN), body_time_limit=0.2)


def padded(document: object, size: int) -> bytes:
    """``document`` as JSON followed by spaces, ``size`` bytes in all (still valid JSON)."""
    text = json.dumps(document).encode()
    return text + b" " * (size - len(text))


async def test_api_bodies_are_capped_at_64_kib(web: WebApp, client: httpx.AsyncClient) -> None:
    """64 KiB is read; one byte more is 413 {"detail"} and starts nothing."""
    at_cap = padded({"stack": "network"}, BODY_CAP)
    answer = await client.post("/api/v1/chains", content=at_cap, headers=GOOD)
    assert answer.status_code == 202
    over = padded({"stack": "database"}, BODY_CAP + 1)
    answer = await client.post("/api/v1/chains", content=over, headers=GOOD)
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"body over {BODY_CAP} bytes"}
    assert web.chains.started == [("network", False)]


async def test_the_webhook_alone_gets_1_mib(client: httpx.AsyncClient) -> None:
    """A webhook body past 64 KiB is still read (to its signature check); past 1 MiB it is 413."""
    body = padded({"not": "an event"}, 2 * BODY_CAP)
    answer = await client.post("/webhooks/spacelift", content=body, headers=sign(body))
    assert answer.status_code == 200  # read whole, verified, parsed: some other kind, ignored
    body = padded({"not": "an event"}, MAX_BODY_BYTES + 1)
    answer = await client.post("/webhooks/spacelift", content=body, headers=sign(body))
    assert answer.status_code == 413


async def test_a_chunked_api_body_is_counted_as_it_arrives(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """Without Content-Length, the bytes that arrive are what count: 413 past 64 KiB."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"stack": "network"}'
        for _ in range(100):
            sent += 16 * 1024
            yield b" " * (16 * 1024)

    answer = await client.post("/api/v1/chains", content=chunks(), headers=GOOD)
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    assert sent <= BODY_CAP + 16 * 1024  # reading stopped at the cap, not at the end
    assert web.chains.started == []


async def asgi_post(
    web: WebApp, path: str, headers: dict[str, str], client: str
) -> tuple[int, int]:
    """POST declaring a 200 MB body straight to the ASGI app: (status, times the body was read)."""
    reads = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 65_536, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    raw = {**headers, "host": "127.0.0.1:8000", "content-length": str(HUGE)}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in raw.items()],
        "client": (client, 50_000),
        "server": ("127.0.0.1", 8000),
    }
    await web.app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), reads


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_the_token_is_checked_before_any_body_is_read(
    web: WebApp, headers: dict[str, str]
) -> None:
    """A 200 MB POST to /api/v1 without the right token is 401 and its body is never read."""
    assert await asgi_post(web, "/api/v1/chains", headers, "127.0.0.1") == (401, 0)


async def test_with_the_token_a_declared_body_over_the_cap_is_never_read(web: WebApp) -> None:
    """With the token, a declared 200 MB body is 413 without a byte read."""
    assert await asgi_post(web, "/api/v1/chains", GOOD, "127.0.0.1") == (413, 0)


async def test_without_a_token_a_remote_client_is_refused_before_its_body(tmp_path: Path) -> None:
    """No token set: a non-loopback client's 200 MB POST is 403, its body never read."""
    web = build(settings_for(tmp_path))
    assert await asgi_post(web, "/api/v1/chains", {}, "10.1.2.3") == (403, 0)


async def test_webhook_refusals_are_counted_too_large_and_too_slow(
    client: httpx.AsyncClient,
) -> None:
    """The guard's refusals of a webhook show in /metrics as "too_large" and "too_slow"."""
    big = b" " * (MAX_BODY_BYTES + 1)
    assert (await client.post("/webhooks/spacelift", content=big)).status_code == 413
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"{"
        await never.wait()  # the client stops sending: the guard's 0.2 s limit must end it
        yield b"}"

    slow = await client.post("/webhooks/spacelift", content=stalled())
    assert slow.status_code == 408
    assert slow.json()["detail"] == "the body did not arrive within 0.2 s"
    text = (await client.get("/metrics")).text
    assert 'stackchain_webhooks_total{outcome="too_large"} 1.0' in text
    assert 'stackchain_webhooks_total{outcome="too_slow"} 1.0' in text
    assert "stackchain_webhook_handling_seconds_count 0.0" in text  # the route never ran


async def test_a_slow_api_body_is_408(web: WebApp, client: httpx.AsyncClient) -> None:
    """The time limit holds on every route, not only the webhook."""
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"stack": '
        await never.wait()
        yield b'"network"}'

    answer = await client.post("/api/v1/chains", content=stalled(), headers=GOOD)
    assert answer.status_code == 408
    assert web.chains.started == []
