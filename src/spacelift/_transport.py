"""One GraphQL request over gql's httpx transport, rate limited, with errors translated.

gql reads only the body of an answer, so the HTTP status and the ``Retry-After`` header of a 401,
403, 429 or 5xx would be lost. A response hook on the httpx client sees them first and raises
``_HTTPStatus``, which gql wraps (as ``TransportConnectionFailed``) and ``translate`` unwraps.
"""

import asyncio
import logging
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict

import httpx
from aiolimiter import AsyncLimiter
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.httpx import HTTPXAsyncTransport

from spacelift.errors import (
    AuthenticationError,
    GraphQLError,
    PermissionDeniedError,
    RateLimitedError,
    SpaceliftError,
    TransientError,
    UnexpectedResponseError,
)


class Where(TypedDict):
    """What every error names: the client operation and the stack, if there is one."""

    operation: str
    stack_id: str | None


class _DropPayloads(logging.Filter):
    """gql logs whole request and answer bodies at DEBUG: API key secrets and JWTs among them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith((">>>", "<<<"))


logging.getLogger("gql.transport.httpx").addFilter(_DropPayloads())

_STATUS_ERRORS = {401, 403, 429}
_AUTH_WORDS = ("unauthorized", "unauthorised", "unauthenticated")
"""How Spacelift reports a bad or expired JWT inside a 200 answer (as spacectl reads it)."""
_DENIED_WORDS = ("forbidden", "permission denied")


class _HTTPStatus(Exception):  # noqa: N818 - a signal from the response hook, never seen outside
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


async def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status in _STATUS_ERRORS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        raise _HTTPStatus(status, retry_after)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced."""
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


def _from_status(signal: _HTTPStatus, where: Where) -> SpaceliftError:
    status = signal.status
    if status == httpx.codes.UNAUTHORIZED:
        return AuthenticationError("HTTP 401: the credentials were refused", **where)
    if status == httpx.codes.FORBIDDEN:
        return PermissionDeniedError("HTTP 403: not allowed", **where)
    if status == httpx.codes.TOO_MANY_REQUESTS:
        wait = "" if signal.retry_after is None else f", retry after {signal.retry_after:g} s"
        return RateLimitedError(
            f"HTTP 429: rate limited{wait}", retry_after=signal.retry_after, **where
        )
    return TransientError(f"HTTP {status}: server error", **where)


def _from_graphql(
    errors: list[Any] | None, where: Where, secrets: tuple[str, ...]
) -> SpaceliftError:
    messages = [
        redact(str(error.get("message", error) if isinstance(error, dict) else error), secrets)
        for error in errors or []
    ]
    text = "; ".join(messages) or "an empty errors array"
    lowered = [message.lower() for message in messages]
    if any(word in message for message in lowered for word in _AUTH_WORDS):
        return AuthenticationError(f"GraphQL error: {text}", **where)  # logs in again, once
    if any(word in message for message in lowered for word in _DENIED_WORDS):
        return PermissionDeniedError(f"GraphQL error: {text}", **where)
    return GraphQLError(f"GraphQL error: {text}", messages=messages, **where)


def translate(exc: BaseException, where: Where, secrets: tuple[str, ...]) -> SpaceliftError:
    """The client error for anything gql or httpx raised; ``where`` holds operation and stack."""
    cause = exc.__cause__
    if isinstance(cause, _HTTPStatus):
        return _from_status(cause, where)
    if isinstance(exc, TransportQueryError):
        return _from_graphql(exc.errors, where, secrets)
    if isinstance(exc, TimeoutError) or isinstance(cause, httpx.TimeoutException):
        return TransientError("timed out", **where)
    if isinstance(exc, TransportConnectionFailed):
        detail = redact(f"{type(cause).__name__}: {cause}", secrets)
        return TransientError(f"connection failed ({detail})", **where)
    return UnexpectedResponseError(_unexpected(exc), **where)


def _unexpected(exc: BaseException) -> str:
    if isinstance(exc, TransportServerError):
        return f"HTTP {exc.code} without a GraphQL answer"
    if isinstance(exc, TransportProtocolError):
        return "the answer is not a GraphQL result (not JSON, or neither data nor errors)"
    if isinstance(exc, AssertionError):  # gql asserts that an answer without errors has data
        return "the answer has no data"
    return f"the request failed ({type(exc).__name__})"


class GraphQLTransport:
    """A gql client on httpx, connected on first use, behind a leaky-bucket rate limit."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        requests_per_second: float,
        burst: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        if requests_per_second <= 0 or burst < 1:
            msg = "requests_per_second must be positive and burst at least 1"
            raise ValueError(msg)
        # A bucket of `burst` that drains at `requests_per_second`: `burst` may go at once.
        self.limiter = AsyncLimiter(burst, burst / requests_per_second)
        self._burst = burst
        http = HTTPXAsyncTransport(
            url, timeout=timeout, transport=transport, event_hooks={"response": [_check_status]}
        )
        self._client = Client(transport=http, execute_timeout=timeout)
        self._session: AsyncClientSession | None = None
        self._lock = asyncio.Lock()

    def has_capacity(self, *, share: float) -> bool:
        """Whether ``share`` of the burst could go now without waiting."""
        return bool(self.limiter.has_capacity(max(1.0, self._burst * share)))

    async def connect(self) -> AsyncClientSession:
        """The connected gql session, connecting it on first use."""
        async with self._lock:
            if self._session is None:
                # gql leaves these two unannotated.
                self._session = await self._client.connect_async()  # type: ignore[no-untyped-call]
            return self._session

    async def aclose(self) -> None:
        """Close the httpx client; a later request connects again."""
        async with self._lock:
            if self._session is not None:
                self._session = None
                await self._client.close_async()  # type: ignore[no-untyped-call]

    async def execute(
        self,
        request: GraphQLRequest,
        variables: dict[str, Any],
        *,
        token: str | None,
        where: Where,
        secrets: tuple[str, ...],
    ) -> dict[str, Any]:
        """The ``data`` of the answer; a ``SpaceliftError`` for anything else."""
        session = self._session or await self.connect()
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        await self.limiter.acquire()
        try:
            data = await session.execute(
                GraphQLRequest(request, variable_values=variables),
                extra_args={"headers": headers},
            )
        except (TransportError, TimeoutError, AssertionError) as exc:
            # No chained cause: gql's and httpx's texts may quote the request or the answer,
            # secrets included; the error's own (redacted) message carries what matters.
            raise translate(exc, where, secrets) from None
        if not isinstance(data, dict):
            raise UnexpectedResponseError("the answer has no data", **where)
        return data
