"""The client's plumbing: construction, the connection, log-in and the one retry after a 401."""

import functools
import logging
from types import TracebackType
from typing import Any, Self

import httpx
from gql import GraphQLRequest

from spacelift import _operations as ops
from spacelift._auth import TokenSource
from spacelift._parsing import ApiKeyUser, field, parse
from spacelift._transport import GraphQLTransport, Where
from spacelift.errors import (
    AuthenticationError,
    GraphQLError,
    PermissionDeniedError,
    UnexpectedResponseError,
)
from spacelift.models import run_url

_log = logging.getLogger("spacelift")


class BaseClient:
    """Holds the transport and the token source; ``SpaceliftClient`` adds the operations."""

    def __init__(
        self,
        endpoint: str,
        *,
        api_key_id: str | None = None,
        api_key_secret: str | None = None,
        api_token: str | None = None,
        timeout: float = 30.0,
        requests_per_second: float = 10.0,
        burst: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._auth = TokenSource(
            api_token=api_token, api_key_id=api_key_id, api_key_secret=api_key_secret
        )
        self._transport = GraphQLTransport(
            f"{self.endpoint}/graphql",
            timeout=timeout,
            requests_per_second=requests_per_second,
            burst=burst,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint!r})"

    def has_spare_capacity(self) -> bool:
        """Whether half the rate limit's burst is free: a call now would not wait.

        Background work (stackchain's reconciler) reads only then, so it never delays calls
        that chains are waiting on.
        """
        return self._transport.has_capacity(share=0.5)

    async def __aenter__(self) -> Self:
        await self._transport.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._transport.aclose()

    def run_url(self, stack_id: str, run_id: str) -> str:
        """The web page of a run."""
        return run_url(self.endpoint, stack_id, run_id)

    async def _login(self, key_id: str, secret: str, *, where: Where) -> tuple[str, float]:
        """Exchange the API key for a JWT; a refusal or a garbled answer is AuthenticationError."""
        variables = {"id": key_id, "secret": secret}
        try:
            data = await self._send(ops.API_KEY_USER, variables, None, where)
            answer = field(data, "apiKeyUser", **where)
            user = None if answer is None else parse(ApiKeyUser, answer, path="apiKeyUser", **where)
        except (PermissionDeniedError, GraphQLError, UnexpectedResponseError) as exc:
            message = f"the API key could not be exchanged for a token: {exc.message}"
            raise AuthenticationError(message, **where) from None
        if user is None:
            raise AuthenticationError("the API key was refused", **where)
        return user.jwt, user.valid_until

    async def _send(
        self,
        request: GraphQLRequest,
        variables: dict[str, Any],
        token: str | None,
        where: Where,
        redacted: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        secrets = (*self._auth.secrets, *redacted)
        _log.debug("spacelift %s (stack %s)", where["operation"], where["stack_id"])
        return await self._transport.execute(
            request, variables, token=token, where=where, secrets=secrets
        )

    async def _call(
        self,
        request: GraphQLRequest,
        variables: dict[str, Any],
        where: Where,
        redacted: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        login = functools.partial(self._login, where=where)
        token = await self._auth.token(login)
        try:
            return await self._send(request, variables, token, where, redacted)
        except AuthenticationError:
            if not self._auth.can_refresh:
                raise
        _log.info("spacelift %s: token refused, logging in again", where["operation"])
        token = await self._auth.refresh(token, login)
        return await self._send(request, variables, token, where, redacted)
