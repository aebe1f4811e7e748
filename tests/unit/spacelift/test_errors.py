import asyncio
import copy
import pickle
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from gql.transport.exceptions import TransportError

from spacelift import (
    AuthenticationError,
    GraphQLError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RunNotFoundError,
    SpaceliftClient,
    SpaceliftError,
    StackNotFoundError,
    TransientError,
    UnexpectedResponseError,
)
from spacelift._transport import parse_retry_after
from tests.unit.spacelift.fakes import API_TOKEN, ENDPOINT, FakeApi, data, errors

Raiser = type[SpaceliftError]


async def get_stack_error(api: FakeApi, answer: object, client: SpaceliftClient) -> SpaceliftError:
    """The error get_stack('network') raises when the Stack operation gets ``answer``."""
    api.on("Stack", answer)  # type: ignore[arg-type]
    with pytest.raises(SpaceliftError) as caught:
        await client.get_stack("network")
    return caught.value


@pytest.fixture
async def token_client(api: FakeApi) -> SpaceliftClient:  # noqa: ARG001 - respx first
    """A client with a ready token, so a 401 is not retried."""
    return SpaceliftClient(ENDPOINT, api_token=API_TOKEN)


@pytest.mark.parametrize(
    ("answer", "expected", "text"),
    [
        (httpx.Response(401), AuthenticationError, "HTTP 401"),
        (
            httpx.Response(403, json={"errors": [{"message": "no"}]}),
            PermissionDeniedError,
            "HTTP 403",
        ),
        (errors("Forbidden: you are not an admin"), PermissionDeniedError, "Forbidden"),
        (errors("unauthorized"), AuthenticationError, "unauthorized"),
        (errors("permission denied for space prod"), PermissionDeniedError, "permission denied"),
        (httpx.Response(429), RateLimitedError, "HTTP 429"),
        (httpx.Response(500), TransientError, "HTTP 500"),
        (httpx.Response(502, text="<html>bad gateway</html>"), TransientError, "HTTP 502"),
        (httpx.Response(503, json={"errors": [{"message": "down"}]}), TransientError, "HTTP 503"),
        (errors("stack is locked", "try later"), GraphQLError, "stack is locked; try later"),
        (httpx.Response(200, text="{not json"), UnexpectedResponseError, "not a GraphQL result"),
        (httpx.Response(200, json={"nothing": 1}), UnexpectedResponseError, "not a GraphQL result"),
        (httpx.Response(200, json={"data": None}), UnexpectedResponseError, "no data"),
        (data({}), UnexpectedResponseError, "'stack' is missing"),
        (
            data({"stack": {"id": "network"}}),
            UnexpectedResponseError,
            "'stack.name': Field required",
        ),
        (httpx.Response(404, text="Not Found"), UnexpectedResponseError, "HTTP 404"),
        (data({"stack": None}), StackNotFoundError, "no stack 'network'"),
    ],
)
async def test_answer_maps_to_error_class(
    api: FakeApi, token_client: SpaceliftClient, answer: object, expected: Raiser, text: str
) -> None:
    """Each HTTP or GraphQL answer raises its error class, naming operation, stack and cause."""
    error = await get_stack_error(api, answer, token_client)
    assert type(error) is expected
    assert str(error).startswith("get_stack (stack 'network'): ")
    assert text in str(error)
    assert (error.operation, error.stack_id) == ("get_stack", "network")


async def test_graphql_error_keeps_the_server_messages(
    api: FakeApi, token_client: SpaceliftClient
) -> None:
    """GraphQLError.messages holds each message of the errors array."""
    error = await get_stack_error(api, errors("first", "second"), token_client)
    assert isinstance(error, GraphQLError)
    assert error.messages == ["first", "second"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("17", 17.0), ("0.5", 0.5), (None, None), ("soon", None), ("-3", 0.0)],
)
async def test_429_carries_retry_after_seconds(
    api: FakeApi, token_client: SpaceliftClient, header: str | None, expected: float | None
) -> None:
    """RateLimitedError.retry_after is the Retry-After header in seconds, None when unusable."""
    headers = {} if header is None else {"Retry-After": header}
    error = await get_stack_error(api, httpx.Response(429, headers=headers), token_client)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == expected


async def test_429_carries_retry_after_http_date(
    api: FakeApi, token_client: SpaceliftClient
) -> None:
    """An HTTP-date Retry-After becomes the seconds from now until then."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    error = await get_stack_error(
        api, httpx.Response(429, headers={"Retry-After": when}), token_client
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is not None
    assert 100 < error.retry_after <= 120


def test_parse_retry_after_date_forms() -> None:
    """Both delay-seconds and HTTP dates parse; dates in the past mean no wait."""
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 Jan 2025 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("inf", now) is None
    assert parse_retry_after("", now) is None


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_network_failures_are_transient(
    api: FakeApi, token_client: SpaceliftClient, failure: Exception
) -> None:
    """Time-outs, refused and reset connections are TransientError naming the httpx failure."""

    def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    error = await get_stack_error(api, fail, token_client)
    assert type(error) is TransientError
    assert type(failure).__name__ in str(error) or "timed out" in str(error)
    assert "get_stack (stack 'network')" in str(error)


async def test_call_timeout_is_transient(api: FakeApi) -> None:
    """A call that outlives `timeout` is TransientError('timed out')."""
    never = asyncio.Event()

    async def hang(_: httpx.Request) -> httpx.Response:
        await never.wait()
        return data({})

    async with SpaceliftClient(ENDPOINT, api_token=API_TOKEN, timeout=0.05) as client:
        error = await get_stack_error(api, hang, client)
    assert type(error) is TransientError
    assert "timed out" in str(error)


async def test_no_gql_exception_escapes(api: FakeApi, token_client: SpaceliftClient) -> None:
    """Whatever the answer, no gql TransportError leaks out, not even as a shown cause."""
    answers: list[object] = [
        httpx.Response(500),
        httpx.Response(200, text="nope"),
        errors("x"),
        httpx.Response(401),
    ]
    for answer in answers:
        error = await get_stack_error(api, answer, token_client)
        assert not isinstance(error, TransportError)
        assert error.__cause__ is None
        assert error.__suppress_context__


def test_hierarchy() -> None:
    """Every error is a SpaceliftError; the not-found ones share NotFoundError."""
    assert issubclass(StackNotFoundError, NotFoundError)
    assert issubclass(RunNotFoundError, NotFoundError)
    for cls in (AuthenticationError, PermissionDeniedError, RateLimitedError, TransientError):
        assert issubclass(cls, SpaceliftError)


def test_errors_survive_pickle_and_copy() -> None:
    """Errors with keyword-only fields still pickle and copy (process pools, Temporal, logging)."""
    original = RateLimitedError("slow down", operation="get_run", stack_id="s", retry_after=3.0)
    for clone in (pickle.loads(pickle.dumps(original)), copy.copy(original)):  # noqa: S301 - our own bytes
        assert isinstance(clone, RateLimitedError)
        assert (str(clone), clone.retry_after, clone.stack_id) == (str(original), 3.0, "s")
