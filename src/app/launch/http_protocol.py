"""uvicorn's HTTP protocol (httptools) with two bounds it lacks.

- **The request head has a deadline.** Its request line and headers must arrive within
  ``head_time_limit`` seconds (10) of the connection's start, or of the request's first byte on a
  kept-alive connection; a client still sending them is answered ``408`` and cut off, one that
  sent nothing is cut off. uvicorn waits for ever: a client sending one header byte a second
  held a connection (and one of ``STACKCHAIN_HTTP_MAX_CONNECTIONS``) as long as it liked. The
  request's first byte is stamped in its scope (``REQUEST_STARTED``), so the app's body guard
  (``app.web.body_guard``) counts the body's deadline from the request's start, not from the head's
  end: head and body together get ``BODY_TIME_LIMIT``.
- **A connection is closed lingering.** When the server closes while the client is still sending
  (the app refused its body with 413, 401 or 408), a plain close resets the connection, and the
  reset can reach the client before it has read the answer. Instead the server ends its side
  (FIN), then reads and discards what still arrives, for at most ``linger`` seconds (2) and
  ``linger_bytes`` (8 MiB), before it closes; nginx's ``lingering_close`` does the same.
"""

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.web.body_guard import REQUEST_STARTED

HEAD_TIME_LIMIT = 10.0
"""Seconds a request's head has to arrive in, from the connection's start or its first byte."""
LINGER = 2.0
"""Seconds a closing connection's late body bytes are read and discarded, at most."""
LINGER_BYTES = 8 * 1024 * 1024
"""Bytes a closing connection reads and discards, at most."""


def _request_timeout(time_limit: float) -> bytes:
    body = json.dumps({"detail": f"the request head did not arrive within {time_limit:g} s"})
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return (head + body).encode()


class LingeringTransport(asyncio.Transport):
    """The connection's transport as the protocol sees it; ``close`` lingers (see the module)."""

    def __init__(self, inner: asyncio.Transport, *, linger: float, linger_bytes: int) -> None:
        super().__init__()
        self.inner = inner
        self.linger = linger
        self.linger_bytes = linger_bytes
        self.lingering = False
        self.discarded = 0
        self._timer: asyncio.TimerHandle | None = None

    def close(self) -> None:
        """End our side, then read and discard for a while before closing (once)."""
        if self.lingering or self.inner.is_closing():
            return
        self.lingering = True
        if not self.inner.can_write_eof():
            self.inner.close()
            return
        self.inner.write_eof()  # after what is buffered: the client reads the answer, then EOF
        self.inner.resume_reading()
        self._timer = asyncio.get_running_loop().call_later(self.linger, self.inner.close)

    def discard(self, data: bytes) -> None:
        """A late byte of a lingering connection: dropped, until the bound is reached."""
        self.discarded += len(data)
        if self.discarded > self.linger_bytes:
            self.inner.close()

    def forget(self) -> None:
        """The connection is gone: no timer outlives it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def is_closing(self) -> bool:
        """True once closing has begun, lingering or not."""
        return self.lingering or self.inner.is_closing()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` (never after closing has begun)."""
        if not self.lingering:
            self.inner.write(data)

    def abort(self) -> None:
        """Close at once, without lingering."""
        self.forget()
        self.inner.abort()

    def can_write_eof(self) -> bool:
        """Whether the connection can end one side."""
        return self.inner.can_write_eof()

    def write_eof(self) -> None:
        """End our side."""
        self.inner.write_eof()

    def get_extra_info(self, name: str, default: object = None) -> object:
        """The socket's own information (peer, sockname, sslcontext)."""
        return self.inner.get_extra_info(name, default)

    def pause_reading(self) -> None:
        """Stop reading (uvicorn's flow control), unless lingering: then reading goes on."""
        if not self.lingering:
            self.inner.pause_reading()

    def resume_reading(self) -> None:
        """Read again."""
        self.inner.resume_reading()

    def is_reading(self) -> bool:
        """Whether the connection is being read."""
        return self.inner.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Hand the connection to another protocol (a WebSocket upgrade)."""
        self.inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol the connection is handed to."""
        return self.inner.get_protocol()

    def get_write_buffer_size(self) -> int:
        """Bytes waiting to be sent."""
        return self.inner.get_write_buffer_size()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request head and a lingering close."""

    head_time_limit = HEAD_TIME_LIMIT
    linger = LINGER
    linger_bytes = LINGER_BYTES

    _head_timer: asyncio.TimerHandle | None = None
    _head_started = False
    _request_started: float | None = None
    _connection: LingeringTransport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Serve through a lingering transport; the first head's deadline starts now."""
        self._connection = LingeringTransport(
            transport, linger=self.linger, linger_bytes=self.linger_bytes
        )
        super().connection_made(self._connection)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        """Bytes for the parser, or, once closing, for the bin."""
        if self._connection is not None and self._connection.lingering:
            self._connection.discard(data)
            return
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the timers of a connection that is gone."""
        self._cancel_head_timer()
        if self._connection is not None:
            self._connection.forget()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A request's first byte: on a kept-alive connection its head's deadline starts now."""
        super().on_message_begin()
        self._head_started = True
        self._request_started = self.loop.time()
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        """The head is in: its deadline is met (the body guard bounds the body)."""
        self._head_started = False
        self._cancel_head_timer()
        super().on_headers_complete()
        scope = getattr(self, "scope", None)  # the app's task has not run yet: it sees the stamp
        if scope is not None:
            scope.setdefault("extensions", {})[REQUEST_STARTED] = self._request_started

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_time_limit, self._head_too_slow)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a pipelined head waits behind an answer still being sent
            return
        if self._head_started:
            self.transport.write(_request_timeout(self.head_time_limit))
        self.transport.close()


def guarded_protocol(head_time_limit: float = HEAD_TIME_LIMIT) -> type[GuardedHttpProtocol]:
    """:class:`GuardedHttpProtocol` with its own head deadline (tests shorten it)."""

    class Configured(GuardedHttpProtocol):
        pass

    Configured.head_time_limit = head_time_limit
    return Configured
