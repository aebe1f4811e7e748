"""The web server's way to Temporal, every call bounded in time.

The client is handed in or connected on first use; an unreachable Temporal becomes a prompt 503
rather than a hung request.

The client's own gRPC retries keep trying while Temporal is down; the bound cuts them off. A call
cut off after Temporal accepted it is answered 503 all the same, and its retry is a duplicate the
lanes and ``USE_EXISTING`` starts already absorb.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.core.errors import TemporalUnavailableError
from app.core.logs import get_logger

T = TypeVar("T")
TemporalConnector = Callable[[], Awaitable[Client]]
"""Makes a connected client (``app.core.temporal_connect.connect_temporal`` bound to settings)."""

DEFAULT_RPC_TIMEOUT = 5.0
_TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)

log = get_logger(__name__)


def is_transient(error: RPCError) -> bool:
    """True for errors that say Temporal could not serve now (retry later)."""
    return error.status in _TRANSIENT


class TemporalGateway:
    """Holds the Temporal client; connects lazily when given a connector instead of a client."""

    def __init__(
        self,
        temporal: Client | TemporalConnector,
        *,
        timeout: float = DEFAULT_RPC_TIMEOUT,
    ) -> None:
        self._client = temporal if isinstance(temporal, Client) else None
        self._connect = None if isinstance(temporal, Client) else temporal
        self._lock = asyncio.Lock()
        self.timeout = timeout
        self._failure: tuple[float, str] | None = None  # when the last connect failed, and why

    @property
    def connected(self) -> bool:
        """True once a client exists (it may still find the server down)."""
        return self._client is not None

    async def client(self) -> Client:
        """The client, connecting first if need be; :class:`TemporalUnavailableError` if not."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._connect_once()
                log.info("connected to Temporal", namespace=self._client.namespace)
        return self._client

    async def _connect_once(self) -> Client:
        """Connect, remembering a failure for one time-out.

        The requests queued behind a failed attempt are answered 503 at once, instead of each
        waiting out a connection attempt in turn.
        """
        assert self._connect is not None  # noqa: S101 - one of the two is always set
        now = asyncio.get_running_loop().time()
        if self._failure is not None and now - self._failure[0] < self.timeout:
            raise TemporalUnavailableError(self._failure[1])
        try:
            return await self.bounded(self._connect(), "the connection")
        except (RuntimeError, RPCError, TemporalUnavailableError) as error:
            self._failure = (asyncio.get_running_loop().time(), f"cannot reach Temporal: {error}")
            raise TemporalUnavailableError(self._failure[1]) from None

    async def bounded(self, call: Awaitable[T], what: str) -> T:
        """Await ``call`` within the timeout; unreachable or slow Temporal raises 503's error."""
        try:
            return await asyncio.wait_for(call, self.timeout)
        except TimeoutError:
            msg = f"Temporal did not answer {what} within {self.timeout:g}s"
            raise TemporalUnavailableError(msg) from None
        except RPCError as error:
            if not is_transient(error):
                raise
            msg = f"Temporal could not take {what}: {error.message}"
            raise TemporalUnavailableError(msg) from None
