from collections.abc import AsyncIterator

import httpx
import pytest

from spacelift import SpaceliftClient
from spacelift.sandbox import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, Sandbox, create_app
from tests.unit.spacelift.sandbox.support import ENDPOINT, Receiver, world


@pytest.fixture
def receiver() -> Receiver:
    """An in-process webhook receiver."""
    return Receiver()


@pytest.fixture
async def sandbox(receiver: Receiver) -> AsyncIterator[Sandbox]:
    """The standard world, its webhooks going to ``receiver`` once a target is set."""
    async with Sandbox(
        world(), webhook_transport=httpx.ASGITransport(app=receiver.app)
    ) as simulated:
        yield simulated


def connect(sandbox: Sandbox, **options: object) -> SpaceliftClient:
    """The real client, talking to ``sandbox`` in-process through its ASGI app."""
    values: dict[str, object] = {
        "api_key_id": DEFAULT_KEY_ID,
        "api_key_secret": DEFAULT_KEY_SECRET,
        "requests_per_second": 1000,
        "burst": 1000,
        "timeout": 5.0,
        **options,
    }
    transport = httpx.ASGITransport(app=create_app(sandbox))
    return SpaceliftClient(ENDPOINT, transport=transport, **values)  # type: ignore[arg-type]


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[SpaceliftClient]:
    """The real client on the sandbox, logged in with the default API key."""
    async with connect(sandbox) as spacelift:
        yield spacelift
