import logging
import traceback
from collections.abc import Awaitable, Callable

import httpx
import pytest

from spacelift import SpaceliftClient, SpaceliftError
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
from tests.unit.spacelift.fakes import KEY_SECRET as SECRET

ENV_VALUE = "db-password-77e1"
SECRETS = (SECRET, JWT, JWT_2, API_TOKEN, ENV_VALUE)


def reset_by_peer(_: httpx.Request) -> httpx.Response:
    raise httpx.ReadError(f"connection reset while sending Bearer {JWT}")


def assert_no_secret(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"secret(s) leaked: {leaked} in {text!r}"


async def get_stack(client: SpaceliftClient) -> object:
    return await client.get_stack("network")


async def set_env(client: SpaceliftClient) -> object:
    await client.set_stack_env_var("network", "DB_PASSWORD", ENV_VALUE)
    return None


Scenario = tuple[str, object, str, object, Callable[[SpaceliftClient], Awaitable[object]]]
SCENARIOS: list[Scenario] = [
    ("login echoes the secret", errors(f"bad secret {SECRET}"), "Stack", {}, get_stack),
    (
        "login is cut short",
        httpx.Response(200, text=f'{{"data":{{"jwt":"{JWT}"'),
        "Stack",
        {},
        get_stack,
    ),
    ("login lacks validUntil", data({"apiKeyUser": {"jwt": JWT}}), "Stack", {}, get_stack),
    ("login 401", httpx.Response(401, text=SECRET), "Stack", {}, get_stack),
    ("call echoes the JWT", login_answer(), "Stack", errors(f"token {JWT} / {SECRET}"), get_stack),
    ("call is reset", login_answer(), "Stack", reset_by_peer, get_stack),
    ("call gets 401 twice", login_answer(JWT), "Stack", httpx.Response(401), get_stack),
    ("call is not JSON", login_answer(), "Stack", httpx.Response(200, text=JWT), get_stack),
    (
        "env value echoed",
        login_answer(),
        "StackConfigAdd",
        errors(f"bad value {ENV_VALUE}"),
        set_env,
    ),
]


@pytest.mark.parametrize(
    ("login", "operation", "answer", "call"),
    [scenario[1:] for scenario in SCENARIOS],
    ids=[scenario[0] for scenario in SCENARIOS],
)
async def test_no_secret_in_errors_or_logs(
    api: FakeApi,
    client: SpaceliftClient,
    caplog: pytest.LogCaptureFixture,
    login: object,
    operation: str,
    answer: object,
    call: Callable[[SpaceliftClient], Awaitable[object]],
) -> None:
    """No API secret, JWT, token or write-only value in str, repr, traceback or any log line."""
    caplog.set_level(logging.DEBUG)
    api.on("ApiKeyUser", login, login_answer(JWT_2))  # type: ignore[arg-type]
    api.on(operation, answer)  # type: ignore[arg-type]
    with pytest.raises(SpaceliftError) as caught:
        await call(client)
    error = caught.value
    assert_no_secret(str(error))
    assert_no_secret(repr(error))
    assert_no_secret("".join(traceback.format_exception(error)))
    assert_no_secret(caplog.text)
    assert_no_secret(" ".join(repr(record.args) for record in caplog.records))


async def test_no_secret_in_debug_logs_of_a_good_session(
    api: FakeApi, client: SpaceliftClient, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, a log-in and a call log nothing secret (gql's payload dumps are dropped)."""
    caplog.set_level(logging.DEBUG)
    api.on("Stack", {"stack": stack_payload()})
    await client.get_stack("network")
    assert caplog.records, "the client and httpx do log at DEBUG/INFO"
    assert_no_secret(caplog.text)
    assert_no_secret(" ".join(repr(record.args) for record in caplog.records))


async def test_no_secret_with_a_ready_token(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    """A ready token echoed by the server is redacted too."""
    caplog.set_level(logging.DEBUG)
    api.on("Stack", errors(f"token {API_TOKEN} expired"))
    async with SpaceliftClient(ENDPOINT, api_token=API_TOKEN) as client:
        with pytest.raises(SpaceliftError) as caught:
            await client.get_stack("network")
    assert "[redacted]" in str(caught.value)
    assert_no_secret(repr(caught.value))
    assert_no_secret(caplog.text)


def test_client_repr_has_no_credentials() -> None:
    """repr(client) shows the endpoint only."""
    client = SpaceliftClient(ENDPOINT, api_token=API_TOKEN)
    assert repr(client) == f"SpaceliftClient({ENDPOINT!r})"
