"""The body guard alone, over raw ASGI: caps while the body streams, and the body's deadline."""

import asyncio
import itertools
import json
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from app.core.errors import ApiError
from app.web.body_guard import REQUEST_STARTED, BodyGuard

CAP = 1_000
"""A small cap, so examples stay cheap; the app's real caps are tested through create_app."""


@dataclass
class Reader:
    """An app that reads the whole body, then answers 200: it records what it was given."""

    calls: int = 0
    seen: int = 0
    refused: list[BaseException] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        del scope
        self.calls += 1
        try:
            while True:
                message = await receive()
                self.seen += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
        except Exception as error:
            self.refused.append(error)
            raise
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})


@dataclass
class Exchange:
    """What the server side saw: the messages sent back, and how often the body was asked for."""

    sent: list[Message] = field(default_factory=list)
    receives: int = 0

    @property
    def status(self) -> int:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.sent  # exactly one answer
        return int(starts[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"])

    @property
    def detail(self) -> str:
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return str(json.loads(body)["detail"])


def scope_for(
    path: str = "/x", method: str = "POST", content_length: int | str | None = None
) -> Scope:
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    return {"type": "http", "method": method, "path": path, "headers": headers}


async def drive(
    guard: BodyGuard, chunks: list[bytes], scope: Scope, *, stall: bool = False
) -> Exchange:
    """Serve one request whose body arrives as ``chunks``; with ``stall``, the last never ends."""
    exchange = Exchange()
    messages = [
        {"type": "http.request", "body": chunk, "more_body": stall or index < len(chunks) - 1}
        for index, chunk in enumerate(chunks or [b""])
    ]
    never = asyncio.Event()

    async def receive() -> Message:
        exchange.receives += 1
        if messages:
            return messages.pop(0)
        if stall:
            await never.wait()  # a client that stopped sending: only the guard's deadline ends it
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        exchange.sent.append(message)

    await guard(scope, receive, send)
    return exchange


def split(total: int, cuts: list[int]) -> list[bytes]:
    """``total`` bytes cut at the given offsets (the way a client or a proxy happens to)."""
    points = sorted({0, total, *(cut % (total + 1) for cut in cuts)})
    return [b"x" * (end - start) for start, end in itertools.pairwise(points)]


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(0, 4 * CAP),
    cuts=st.lists(st.integers(0, 4 * CAP), max_size=8),
    declared=st.sampled_from(["absent", "honest", "lying", "garbage"]),
    lie=st.integers(0, CAP),
)
async def test_any_body_over_the_cap_is_413_and_the_app_never_sees_more_than_the_cap(
    total: int, cuts: list[int], declared: str, lie: int
) -> None:
    """Whatever its length, chunking and Content-Length (absent, honest, lying, not a number),
    a body over the cap is answered 413 and the app is handed at most ``cap`` bytes; a body
    within the cap reaches the app whole."""
    reader = Reader()
    length = {"absent": None, "honest": total, "lying": lie, "garbage": "12ab"}[declared]
    exchange = await drive(
        BodyGuard(reader, cap=CAP), split(total, cuts), scope_for(content_length=length)
    )
    assert reader.seen <= CAP
    if total > CAP:
        assert exchange.status == 413
        assert exchange.detail == f"body over {CAP} bytes"
        assert exchange.headers[b"connection"] == b"close"
    else:
        assert exchange.status == 200
        assert reader.seen == total


@settings(max_examples=100, deadline=None)
@given(declared=st.integers(CAP + 1, 10**40))
async def test_a_declared_length_over_the_cap_is_refused_before_a_byte_is_read(
    declared: int,
) -> None:
    """Content-Length over the cap (even with thousands of digits' worth) is 413 at once: the
    app never runs and the body is never asked for."""
    reader = Reader()
    exchange = await drive(BodyGuard(reader, cap=CAP), [b"x"], scope_for(content_length=declared))
    assert exchange.status == 413
    assert (reader.calls, exchange.receives) == (0, 0)


async def test_a_route_named_in_caps_has_its_own_cap() -> None:
    """``caps`` sets one (method, path)'s cap; every other request keeps the default."""
    guard = BodyGuard(Reader(), cap=CAP, caps={("POST", "/big"): 3 * CAP})
    body = [b"x" * (2 * CAP)]
    assert (await drive(guard, body, scope_for("/big"))).status == 200
    assert (await drive(guard, body, scope_for("/big", method="PUT"))).status == 413
    assert (await drive(guard, body, scope_for("/other"))).status == 413


@settings(max_examples=30, deadline=None)
@given(arrived=st.integers(0, CAP), cuts=st.lists(st.integers(0, CAP), max_size=4))
async def test_a_body_that_stalls_is_408_after_the_time_limit(
    arrived: int, cuts: list[int]
) -> None:
    """However much of the body arrived before the client stalled, the guard answers 408 once
    the time limit has passed, and the app sees the refusal instead of waiting on."""
    reader = Reader()
    guard = BodyGuard(reader, cap=CAP, time_limit=0.01)
    exchange = await drive(guard, split(arrived, cuts), scope_for(), stall=True)
    assert exchange.status == 408
    assert "did not arrive within 0.01 s" in exchange.detail
    assert exchange.headers[b"connection"] == b"close"
    assert len(reader.refused) == 1  # receive raised into the app: it did not answer 200 too
    assert reader.seen == arrived


async def test_the_deadline_counts_from_the_requests_start_when_the_server_stamps_it() -> None:
    """A request whose head took the whole time limit (stamped by the server's protocol) gets
    408 on its first wait for the body: head and body together get the limit, not each."""
    reader = Reader()
    guard = BodyGuard(reader, cap=CAP, time_limit=60.0)
    scope = scope_for()
    scope["extensions"] = {REQUEST_STARTED: asyncio.get_running_loop().time() - 60.0}

    async with asyncio.timeout(5):  # far within the limit: only the stamp can make it 408 now
        exchange = await drive(guard, [], scope, stall=True)

    assert exchange.status == 408
    assert "did not arrive within 60 s" in exchange.detail
    assert len(reader.refused) == 1


async def test_a_body_in_full_before_the_limit_is_not_timed_out_afterwards() -> None:
    """Once the body is in, receive waits for the disconnect without the deadline."""
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        del scope
        seen.append(await receive())
        await asyncio.sleep(0.05)  # past the 0.01 s limit: the app working, not a body arriving
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    exchange = await drive(BodyGuard(app, time_limit=0.01), [b"{}"], scope_for())
    assert exchange.status == 204
    assert [message["type"] for message in seen] == ["http.request", "http.disconnect"]


async def test_the_refusal_hook_hears_of_every_refusal() -> None:
    """``on_refusal`` is told of each refusal (declared, counted, timed out) with its status."""
    heard: list[tuple[str, int]] = []

    def hook(scope: Scope, error: ApiError) -> None:
        heard.append((scope["path"], error.status_code))

    guard = BodyGuard(Reader(), cap=CAP, time_limit=0.01, on_refusal=hook)
    await drive(guard, [b"x"], scope_for("/declared", content_length=CAP + 1))
    await drive(guard, [b"x" * (CAP + 1)], scope_for("/counted"))
    await drive(guard, [b"x"], scope_for("/slow"), stall=True)
    await drive(guard, [b"x"], scope_for("/fine"))
    assert heard == [("/declared", 413), ("/counted", 413), ("/slow", 408)]


async def test_other_scopes_pass_untouched() -> None:
    """Lifespan (and any non-HTTP scope) goes straight to the app."""
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        del receive, send
        reached.append(scope["type"])

    async def nothing() -> Message:
        return {"type": "lifespan.startup"}

    async def drop(message: Message) -> None:
        del message

    await BodyGuard(app, time_limit=0.0)({"type": "lifespan"}, nothing, drop)
    assert reached == ["lifespan"]
