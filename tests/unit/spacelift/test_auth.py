import asyncio
import time

import httpx
import pytest

from spacelift import AuthenticationError, SpaceliftClient, StackNotFoundError, TransientError
from spacelift._auth import REFRESH_MARGIN, TokenSource
from tests.unit.spacelift.fakes import (
    API_TOKEN,
    ENDPOINT,
    JWT,
    JWT_2,
    FakeApi,
    data,
    errors,
    login_answer,
    stack_payload,
)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def wait_until(condition: object, what: str) -> None:
    """Yield to the loop until ``condition()`` holds; fail after a deadline (no sleeping)."""
    deadline = time.monotonic() + 5
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0)


async def test_jwt_is_cached_while_valid(api: FakeApi, client: SpaceliftClient) -> None:
    """Three calls within the JWT's life make one exchange."""
    api.on("Stack", {"stack": stack_payload()})
    for _ in range(3):
        await client.get_stack("network")
    assert len(api.of("ApiKeyUser")) == 1
    assert {call.authorization for call in api.of("Stack")} == {f"Bearer {JWT}"}


async def test_expiry_drives_a_second_exchange(api: FakeApi, client: SpaceliftClient) -> None:
    """Once now + 30 s passes validUntil the key is exchanged again and the new JWT is used."""
    clock = Clock()
    client._auth._clock = clock
    valid_until = int(clock.now) + 600
    api.on(
        "ApiKeyUser",
        data({"apiKeyUser": {"jwt": JWT, "validUntil": valid_until}}),
        data({"apiKeyUser": {"jwt": JWT_2, "validUntil": valid_until + 3600}}),
    )
    api.on("Stack", {"stack": stack_payload()})
    await client.get_stack("network")
    clock.now = valid_until - REFRESH_MARGIN - 1
    await client.get_stack("network")
    assert len(api.of("ApiKeyUser")) == 1, "still valid 31 s before validUntil"
    clock.now = valid_until - REFRESH_MARGIN + 1
    await client.get_stack("network")
    assert len(api.of("ApiKeyUser")) == 2
    assert [c.authorization for c in api.of("Stack")] == [f"Bearer {JWT}"] * 2 + [f"Bearer {JWT_2}"]


async def test_concurrent_callers_share_one_exchange(api: FakeApi, client: SpaceliftClient) -> None:
    """20 callers arriving while the log-in is in flight wait for it; one exchange in all."""
    release = asyncio.Event()

    async def slow_login(_: httpx.Request) -> httpx.Response:
        await release.wait()
        return login_answer()

    api.on("ApiKeyUser", slow_login)
    api.on("Stack", {"stack": stack_payload()})
    tasks = [asyncio.create_task(client.get_stack("network")) for _ in range(20)]
    await wait_until(lambda: len(api.of("ApiKeyUser")) == 1, "the log-in to start")
    for _ in range(20):  # give every caller the chance to start a second exchange, wrongly
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    assert len(api.of("ApiKeyUser")) == 1
    assert len(api.of("Stack")) == 20
    assert {call.authorization for call in api.of("Stack")} == {f"Bearer {JWT}"}


async def test_401_relogs_in_once_and_retries(api: FakeApi, client: SpaceliftClient) -> None:
    """A 401 on an operation makes one new exchange and one retry with the new JWT."""
    api.on("ApiKeyUser", login_answer(JWT), login_answer(JWT_2))
    api.on("Stack", httpx.Response(401), data({"stack": stack_payload()}))
    stack = await client.get_stack("network")
    assert stack.id == "network"
    assert len(api.of("ApiKeyUser")) == 2
    assert [c.authorization for c in api.of("Stack")] == [f"Bearer {JWT}", f"Bearer {JWT_2}"]


async def test_graphql_unauthorized_relogs_in_once_too(
    api: FakeApi, client: SpaceliftClient
) -> None:
    """An expired JWT reported inside a 200 answer ("unauthorized") also gets one new login."""
    api.on("ApiKeyUser", login_answer(JWT), login_answer(JWT_2))
    api.on("Stack", errors("unauthorized"), data({"stack": stack_payload()}))
    stack = await client.get_stack("network")
    assert stack.id == "network"
    assert len(api.of("ApiKeyUser")) == 2
    assert [c.authorization for c in api.of("Stack")] == [f"Bearer {JWT}", f"Bearer {JWT_2}"]


async def test_second_401_is_authentication_error(api: FakeApi, client: SpaceliftClient) -> None:
    """When the retry after the re-login also gets 401, AuthenticationError; nothing more."""
    api.on("ApiKeyUser", login_answer(JWT), login_answer(JWT_2))
    api.on("Stack", httpx.Response(401))
    with pytest.raises(AuthenticationError, match=r"get_stack \(stack 'network'\): HTTP 401"):
        await client.get_stack("network")
    assert len(api.of("ApiKeyUser")) == 2
    assert len(api.of("Stack")) == 2


async def test_401_with_ready_token_is_immediate(api: FakeApi) -> None:
    """With a ready token there is nothing to refresh: the first 401 is AuthenticationError."""
    api.on("Stack", httpx.Response(401))
    async with SpaceliftClient(ENDPOINT, api_token=API_TOKEN) as client:
        with pytest.raises(AuthenticationError):
            await client.get_stack("network")
    assert [call.operation for call in api.calls] == ["Stack"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401),
        errors("invalid API key"),
        data({"apiKeyUser": None}),
        data({"apiKeyUser": {"jwt": JWT}}),
        httpx.Response(200, text="<html>"),
    ],
    ids=["http-401", "graphql-error", "null", "no-validUntil", "not-json"],
)
async def test_login_failure_is_authentication_error(
    api: FakeApi, client: SpaceliftClient, answer: httpx.Response
) -> None:
    """A refused or malformed log-in is AuthenticationError naming the operation that needed it."""
    api.on("ApiKeyUser", answer)
    with pytest.raises(AuthenticationError, match=r"^get_stack \(stack 'network'\)"):
        await client.get_stack("network")
    assert api.of("Stack") == []


async def test_login_5xx_stays_transient(api: FakeApi, client: SpaceliftClient) -> None:
    """A 503 during log-in is not a credentials problem: it stays retryable."""
    api.on("ApiKeyUser", httpx.Response(503))
    with pytest.raises(TransientError, match="HTTP 503"):
        await client.get_stack("network")


async def test_not_found_after_relogin_is_not_retried_again(
    api: FakeApi, client: SpaceliftClient
) -> None:
    """The one retry returns whatever the second answer is, errors included."""
    api.on("ApiKeyUser", login_answer(JWT), login_answer(JWT_2))
    api.on("Stack", httpx.Response(401), data({"stack": None}))
    with pytest.raises(StackNotFoundError):
        await client.get_stack("network")
    assert len(api.of("Stack")) == 2


def test_credentials_are_required() -> None:
    """Neither a token nor a whole key is a ValueError at construction."""
    with pytest.raises(ValueError, match="api_token"):
        TokenSource(api_key_id="only-the-id")
    with pytest.raises(ValueError, match="api_token"):
        SpaceliftClient(ENDPOINT)
