"""The web server's request limits under the real uvicorn, over raw loopback sockets.

Each refusal must also end the connection (``Connection: close``): these tests read the answer to
the end of the stream, so a server that kept reading, or kept the connection open, fails them.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.core.settings import Settings
from tests.unit.app.launch.served import DEADLINE, serving
from tests.unit.app.web.webapp import TOKEN, build, settings_for

HUGE = 200 * 1024 * 1024
CHUNK = 256 * 1024


@contextlib.asynccontextmanager
async def api(settings: Settings, *, body_time_limit: float = 10.0) -> AsyncIterator[int]:
    """The app (Temporal and lanes faked) under the launcher's uvicorn; yields its port."""
    async with serving(build(settings, body_time_limit=body_time_limit).app, settings) as (_, port):
        yield port


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


def head(method: str, path: str, *lines: str) -> bytes:
    text = "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *lines, "", ""])
    return text.encode()


async def answer_to_the_end(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (within the deadline).

    A server that closes while body bytes it never read are queued resets the connection
    (RST) instead of ending it (FIN): what arrived before counts as the answer.
    """
    answer = b""
    async with asyncio.timeout(DEADLINE):
        with contextlib.suppress(ConnectionResetError):
            while block := await reader.read(65_536):
                answer += block
    return answer


async def pour(writer: asyncio.StreamWriter, total: int) -> int:
    """Send up to ``total`` body bytes; how many went before the server closed the connection."""
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < total:
            writer.write(b" " * CHUNK)
            await writer.drain()
            sent += CHUNK
    return sent


async def test_an_unauthenticated_200_mb_post_is_401_before_its_body(tmp_path: Path) -> None:
    """The issue's attack: 401 and the connection closed, with not one body byte sent."""
    async with api(settings_for(tmp_path, api_token=TOKEN)) as port:
        reader, writer = await connect(port)
        writer.write(head("POST", "/api/v1/chains", f"Content-Length: {HUGE}"))
        answer = await answer_to_the_end(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" in answer.lower()


async def test_a_200_mb_body_poured_at_the_api_is_cut_short(tmp_path: Path) -> None:
    """A client that sends its 200 MB body anyway is answered 401 and cut off long before."""
    async with api(settings_for(tmp_path, api_token=TOKEN)) as port:
        reader, writer = await connect(port)
        writer.write(head("POST", "/api/v1/chains", f"Content-Length: {HUGE}"))
        sending = asyncio.create_task(pour(writer, HUGE))
        answer = await answer_to_the_end(reader)
        sent = await asyncio.wait_for(sending, DEADLINE)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert sent < HUGE


@pytest.mark.parametrize(
    ("path", "cap"), [("/webhooks/spacelift", 1024 * 1024), ("/api/v1/chains", 64 * 1024)]
)
async def test_a_chunked_body_over_the_cap_is_413_and_the_connection_closed(
    tmp_path: Path, path: str, cap: int
) -> None:
    """Chunked (no Content-Length), the body is counted as it arrives: 413 soon after the cap."""
    async with api(settings_for(tmp_path)) as port:
        reader, writer = await connect(port)
        writer.write(head("POST", path, "Transfer-Encoding: chunked"))

        async def chunks() -> int:
            sent = 0
            with contextlib.suppress(ConnectionError):
                while sent < HUGE:
                    writer.write(b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK))
                    await writer.drain()
                    sent += CHUNK
            return sent

        sending = asyncio.create_task(chunks())
        answer = await answer_to_the_end(reader)
        sent = await asyncio.wait_for(sending, DEADLINE)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert f"body over {cap} bytes".encode() in answer
    assert sent < HUGE


async def test_a_body_that_stalls_is_408_and_the_connection_closed(tmp_path: Path) -> None:
    """Part of a body, then nothing: 408 once the (shortened) time limit passes, then closed."""
    async with api(settings_for(tmp_path), body_time_limit=0.3) as port:
        reader, writer = await connect(port)
        writer.write(head("POST", "/webhooks/spacelift", "Content-Length: 100") + b"{" * 10)
        answer = await answer_to_the_end(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 0.3 s" in answer
