"""The launcher's HTTP protocol: a deadline on each request head, and a lingering close."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.settings import load_settings
from app.launch.api import uvicorn_config
from app.launch.http_protocol import HEAD_TIME_LIMIT, GuardedHttpProtocol
from app.web.body_guard import REQUEST_STARTED
from tests.unit.app.launch.served import DEADLINE, serving

LIMIT = 0.3
"""The head deadline these tests serve with (the real one is 10 s)."""
HEAD = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n"


@pytest.fixture(autouse=True)
def clean_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env of the machine's leaks into the settings."""
    monkeypatch.chdir(tmp_path)


def small_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    @app.post("/started")
    async def started(request: Request) -> dict[str, float]:
        """How long before the app was called the protocol stamped the request's start."""
        stamp = request.scope["extensions"][REQUEST_STARTED]
        return {"before_call": asyncio.get_running_loop().time() - stamp}

    @app.post("/refuse")
    async def refuse(request: Request) -> JSONResponse:
        """Reads 1 MiB of the body, then answers and closes, the rest unread (as a 413 does)."""
        read = 0
        async for chunk in request.stream():
            read += len(chunk)
            if read >= 1024 * 1024:
                break
        return JSONResponse({"status": "refused unread"}, headers={"Connection": "close"})

    return app


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with serving(small_app(), load_settings(), head_time_limit=LIMIT) as (_, bound):
        yield bound


async def to_the_end(reader: asyncio.StreamReader) -> bytes:
    """What the server sends until it closes (within the deadline; a reset ends it too)."""
    answer = b""
    async with asyncio.timeout(DEADLINE):
        with contextlib.suppress(ConnectionResetError):
            while block := await reader.read(65_536):
                answer += block
    return answer


def test_the_launcher_serves_with_the_guarded_protocol() -> None:
    """``stackchain api`` and ``serve`` get the guarded protocol with the 10 s head deadline."""
    config = uvicorn_config(FastAPI(), load_settings(), host="127.0.0.1", port=8000)
    assert isinstance(config.http, type)
    assert issubclass(config.http, GuardedHttpProtocol)
    assert config.http.head_time_limit == HEAD_TIME_LIMIT == 10.0


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(1, len(HEAD) - 1))
async def test_any_head_that_stalls_is_408_and_closed(port: int, cut: int) -> None:
    """A head cut anywhere, then nothing: 408 with a JSON detail once the deadline passes, then
    the connection is closed (uvicorn alone would wait for ever)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD[:cut])
    answer = await to_the_end(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b'{"detail": "the request head did not arrive within 0.3 s"}')


async def test_a_head_trickled_a_byte_at_a_time_is_cut_off(port: int) -> None:
    """The slowloris client: one byte every 50 ms never finishes its head within 0.3 s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0

    async def trickle() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            for byte in HEAD:
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                await asyncio.sleep(0.05)  # the attack's pace, not a wait for the server

    trickling = asyncio.create_task(trickle())
    answer = await to_the_end(reader)
    trickling.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert sent < len(HEAD)


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    """A connection that never sends a byte is closed at the deadline, without an answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await to_the_end(reader) == b""
    writer.close()


async def test_on_a_kept_alive_connection_each_head_has_its_deadline(port: int) -> None:
    """A request served in time keeps the connection; the next head, stalled, gets 408."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"{}")
    served = await asyncio.wait_for(reader.readuntil(b'{"length":2}'), DEADLINE)
    writer.write(HEAD[:10])
    answer = await to_the_end(reader)
    writer.close()
    assert served.startswith(b"HTTP/1.1 200 ")
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_each_request_is_stamped_with_its_first_byte_for_the_body_deadline(
    port: int,
) -> None:
    """The scope carries the time of the request's first byte, not of its head's end: a head
    held back for a while shows that while in the stamp, so the body guard's deadline counts it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /started HTTP/1.1\r\n")
    await writer.drain()
    held = asyncio.create_task(reader.read(1))
    done, _ = await asyncio.wait({held}, timeout=LIMIT / 3)  # the head is held back: no answer
    assert not done
    writer.write(b"Host: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    answer = (await asyncio.wait_for(held, DEADLINE)) + await to_the_end(reader)
    writer.close()
    body = answer.partition(b"\r\n\r\n")[2]
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert float(json.loads(body)["before_call"]) >= LIMIT / 3


async def test_a_head_in_time_is_served_however_long_its_body_takes_to_be_asked_for(
    port: int,
) -> None:
    """The head deadline ends with the head: a body sent after it (here past 0.3 s, once the
    server has answered the first request) is the body guard's business, not this one's."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"{")
    first = asyncio.create_task(reader.readuntil(b'{"length":2}'))
    done, _ = await asyncio.wait({first}, timeout=2 * LIMIT)
    assert not done  # the server waits for the body: the head's deadline does not apply to it
    writer.write(b"}")
    served = await asyncio.wait_for(first, DEADLINE)
    writer.close()
    assert served.startswith(b"HTTP/1.1 200 ")


async def refused_while_pouring(port: int) -> bytes:
    """POST a 64 MiB body to ``/refuse``, reading while sending; what the client read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = 64 * 1024 * 1024
    writer.write(b"POST /refuse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % size)

    async def pour() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(size // 65_536):
                writer.write(b" " * 65_536)
                await writer.drain()

    pouring = asyncio.create_task(pour())
    answer = await to_the_end(reader)
    await asyncio.wait_for(pouring, DEADLINE)
    writer.close()
    return answer


async def test_an_answer_sent_while_the_client_still_sends_is_read_before_the_close(
    port: int,
) -> None:
    """The app answers and closes with most of a big body unread; the client, still sending,
    reads the whole answer and then the end of the stream, not a reset that drops it (a plain
    close loses the race now and then: ten tries make it show)."""
    for _ in range(10):
        answer = await refused_while_pouring(port)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b'{"status":"refused unread"}')
