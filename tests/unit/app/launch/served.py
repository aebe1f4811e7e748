"""A uvicorn server built by the launcher's own function, serving on an ephemeral loopback port."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import uvicorn
from fastapi import FastAPI

from app.core.settings import Settings
from app.launch.api import uvicorn_server
from app.launch.http_protocol import HEAD_TIME_LIMIT

DEADLINE = 10.0
"""Seconds any awaited condition of these tests may take before the test fails."""


async def until(condition: Callable[[], bool], within: float = DEADLINE) -> None:
    """Wait for ``condition()`` with a deadline: no fixed sleep stands in for synchronisation."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if condition():
            return
        if asyncio.get_running_loop().time() > deadline:
            msg = f"not within {within}s"
            raise TimeoutError(msg)
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def serving(
    app: FastAPI, settings: Settings, *, head_time_limit: float = HEAD_TIME_LIMIT
) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """``app`` under :func:`uvicorn_server` on 127.0.0.1; yields the server and its port."""
    server = uvicorn_server(
        app, settings, host="127.0.0.1", port=0, head_time_limit=head_time_limit
    )
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or task.done())
        if task.done():
            task.result()  # it could not start: say why
        port: int = server.servers[0].sockets[0].getsockname()[1]
        yield server, port
    finally:
        server.should_exit = True
        await task
