"""uvicorn serves within the settings' HTTP limits: open connections, keep-alive, shutdown."""

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from app.core.settings import load_settings
from app.launch.api import uvicorn_config
from tests.unit.app.launch.served import serving, until

LIMIT_NAMES = (
    "STACKCHAIN_HTTP_MAX_CONNECTIONS",
    "STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT",
    "STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No limit from the machine's environment or a .env leaks into a test."""
    for name in LIMIT_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def small_app() -> tuple[FastAPI, asyncio.Event]:
    """``/healthz`` answers at once; ``/hang`` waits for the returned event."""
    app, release = FastAPI(), asyncio.Event()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/hang")
    async def hang() -> dict[str, str]:
        await release.wait()
        return {"status": "released"}

    return app, release


def test_the_defaults_bound_every_limit() -> None:
    """Unset, uvicorn gets 100 connections, 5 s of keep-alive and 10 s to shut down."""
    config = uvicorn_config(FastAPI(), load_settings(), host="127.0.0.1", port=8000)
    assert config.limit_concurrency == 100
    assert config.timeout_keep_alive == 5
    assert config.timeout_graceful_shutdown == 10


@given(
    connections=st.integers(min_value=1, max_value=1_000_000),
    keepalive=st.integers(min_value=1, max_value=86_400),
    shutdown=st.integers(min_value=1, max_value=86_400),
)
def test_the_launcher_hands_any_valid_limit_to_uvicorn(
    connections: int, keepalive: int, shutdown: int
) -> None:
    """The environment's text (``90``, ``1m30s``) reaches uvicorn's Config as its numbers."""
    settings = load_settings(
        http_max_connections=str(connections),
        http_keepalive_timeout=f"{keepalive}s",
        http_shutdown_timeout=f"{shutdown // 60}m{shutdown % 60}s",
    )
    config = uvicorn_config(FastAPI(), settings, host="127.0.0.1", port=8000)
    assert config.limit_concurrency == connections
    assert config.timeout_keep_alive == keepalive
    assert config.timeout_graceful_shutdown == shutdown


async def test_past_the_connection_limit_uvicorn_answers_503() -> None:
    """With every allowed connection held open, a new request gets 503 at once, not a slot."""
    app, _ = small_app()
    async with serving(app, load_settings(http_max_connections=3)) as (server, port):
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await until(lambda: len(server.server_state.connections) == len(held))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            refused = await http.get("/healthz")
            for _, writer in held:
                writer.close()
                await writer.wait_closed()
            await until(lambda: not server.server_state.connections)
            served = await http.get("/healthz")
    assert refused.status_code == 503
    assert served.status_code == 200  # the limit, not a broken app, refused it


async def test_an_idle_keepalive_connection_is_closed_after_the_setting() -> None:
    """After its answer, an idle connection is closed within the keep-alive time-out (1 s here;
    uvicorn's own default of 5 s would miss the deadline)."""
    app, _ = small_app()
    async with serving(app, load_settings(http_keepalive_timeout="1s")) as (_, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        closed = await asyncio.wait_for(reader.read(1), timeout=3.5)
        writer.close()
    assert head.startswith(b"HTTP/1.1 200")
    assert closed == b""  # end of stream: the server hung up


async def test_shutdown_cuts_a_request_that_outlives_the_shutdown_timeout() -> None:
    """A request still open at shutdown is cut after STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT, so a
    stuck client cannot hold a stopping server (uvicorn's default waits for ever)."""
    app, _ = small_app()
    async with (
        serving(app, load_settings(http_shutdown_timeout="1s")) as (server, port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        stuck = asyncio.create_task(http.get("/hang"))
        await until(lambda: bool(server.server_state.tasks))
        server.should_exit = True
        await until(lambda: not server.server_state.tasks, within=4)
        cut = await stuck
    assert cut.status_code == 500  # uvicorn's answer to a request it canceled
