"""Every error is JSON, and an unreachable Temporal is tried once for a burst of requests."""

import asyncio

import pytest
from temporalio.client import Client

from app.core.errors import TemporalUnavailableError
from app.web.temporal_gateway import TemporalGateway
from tests.unit.app.web.webapp import WebApp


class RefusedConnect:
    """A Temporal connect that is always refused, counting its attempts."""

    def __init__(self) -> None:
        self.attempts = 0

    async def __call__(self) -> Client:
        self.attempts += 1
        msg = "connection refused"
        raise RuntimeError(msg)


async def test_an_unexpected_error_is_answered_as_json(
    web: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug below a route still answers 500 {"detail": ...}, never a text page."""

    async def broken(chain_id: str) -> dict[str, object]:
        msg = f"bug while reading {chain_id}"
        raise KeyError(msg)

    monkeypatch.setattr(web.chains, "get", broken)
    async with web.client(raise_app_exceptions=False) as http:
        answer = await http.get("/api/v1/chains/chain-network-r1")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "internal error"}


async def test_a_burst_while_temporal_is_unreachable_tries_to_connect_once() -> None:
    """Ten requests queued on a failing connect all get the 503 error; one attempt is made."""
    connect = RefusedConnect()
    gateway = TemporalGateway(connect, timeout=5.0)
    results = await asyncio.gather(*(gateway.client() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, TemporalUnavailableError) for result in results)
    assert "connection refused" in str(results[-1])
    assert connect.attempts == 1
    assert not gateway.connected


@pytest.mark.asyncio(loop_scope="function")
async def test_a_connect_after_the_failure_window_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within one time-out of a failure no new attempt is made; after it, one is."""
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])
    connect = RefusedConnect()
    gateway = TemporalGateway(connect, timeout=5.0)
    for _ in range(2):
        with pytest.raises(TemporalUnavailableError):
            await gateway.client()
    assert connect.attempts == 1
    now[0] += 5.1
    with pytest.raises(TemporalUnavailableError):
        await gateway.client()
    assert connect.attempts == 2
