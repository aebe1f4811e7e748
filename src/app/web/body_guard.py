"""The body guard: an ASGI middleware that caps each request body and bounds its arrival time.

It wraps ``receive``, so it holds whatever reads the body (a route, FastAPI's body parsing, a
dependency): nothing can read past the cap or wait past the deadline. Content-Length is a hint
only: a declared length over the cap is refused at once, before a byte is read; a chunked body, or
one whose Content-Length lies, is counted as it arrives.

A refusal (``413`` over the cap, ``408`` when the body has not arrived in full within
``time_limit`` seconds of the request's start) is answered by the guard itself, with
``Connection: close`` so the server drops the rest of the body. The app then sees
:class:`BodyRefusedError` from ``receive`` and anything it still sends is dropped.
"""

import asyncio
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import ApiError, PayloadTooLargeError, RequestTimeoutError
from app.web.error_handlers import refusal

BODY_CAP = 64 * 1024
"""Every body but the ones ``caps`` names."""
BODY_TIME_LIMIT = 10.0
"""Seconds from a request's start by which its body must have arrived in full."""

REQUEST_STARTED = "stackchain.request_started"
"""Scope extension: the event loop's time at the request's first byte, set by the server's
protocol (``app.launch.http_protocol``); without it the body's deadline counts from the app's call,
after the head."""

RefusalHook = Callable[[Scope, ApiError], None]
"""Told of each refusal, after the guard has answered it (the webhook's metrics count them)."""


class BodyRefusedError(Exception):
    """Raised into the app by ``receive`` once the guard has refused the body and answered."""


_LONGEST_LENGTH = 18
"""Digits of a Content-Length read as a number; a longer one is over any cap (and int() of
thousands of digits is slow)."""


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number, or None when absent or not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.strip()
            if not text.isdigit():
                return None
            return int(text) if len(text) <= _LONGEST_LENGTH else 10**_LONGEST_LENGTH
    return None


class BodyGuard:
    """ASGI middleware: the body of ``(method, path)`` is capped at ``caps``, others at ``cap``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        caps: Mapping[tuple[str, str], int] | None = None,
        cap: int = BODY_CAP,
        time_limit: float = BODY_TIME_LIMIT,
        on_refusal: RefusalHook | None = None,
    ) -> None:
        self.app = app
        self.caps = dict(caps or {})
        self.cap = cap
        self.time_limit = time_limit
        self.on_refusal = on_refusal

    def cap_for(self, scope: Scope) -> int:
        """The cap of this request's body, in bytes."""
        return self.caps.get((scope["method"], scope["path"]), self.cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with a guarded ``receive``; refuse a declared length over the cap."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _GuardedRequest(
            scope, receive, send, cap=self.cap_for(scope), time_limit=self.time_limit
        )
        request.on_refusal = self.on_refusal
        declared = declared_length(scope)
        if declared is not None and declared > request.cap:
            await request.refuse(PayloadTooLargeError(f"body over {request.cap} bytes"))
            return
        try:
            await self.app(scope, request.receive, request.send)
        except BodyRefusedError:
            if not request.refused:
                raise


class _GuardedRequest:
    """One request's body count, deadline (from now) and answer state."""

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, *, cap: int, time_limit: float
    ) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.cap = cap
        self.time_limit = time_limit
        started = scope.get("extensions", {}).get(REQUEST_STARTED)
        now = asyncio.get_running_loop().time()
        self.deadline = (now if started is None else started) + time_limit
        self.on_refusal: RefusalHook | None = None
        self.received = 0
        self.complete = False
        self.response_started = False
        self.refused = False

    async def receive(self) -> Message:
        """The next message, counted against the cap and bounded by the deadline."""
        if self.refused:
            raise BodyRefusedError
        if self.complete:  # the body is in: what follows is a disconnect, without a deadline
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            msg = f"the body did not arrive within {self.time_limit:g} s"
            await self.refuse(RequestTimeoutError(msg))
            raise BodyRefusedError from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.cap:
                await self.refuse(PayloadTooLargeError(f"body over {self.cap} bytes"))
                raise BodyRefusedError
            self.complete = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        """Pass the app's answer on, unless the guard has answered already."""
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)

    async def refuse(self, error: ApiError) -> None:
        """Answer ``error`` and close the connection (unless the app's answer has begun)."""
        self.refused = True
        if not self.response_started:
            await refusal(error)(self.scope, self._receive, self._send)
        if self.on_refusal is not None:
            self.on_refusal(self.scope, error)
