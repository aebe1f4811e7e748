"""The sandbox as an ASGI app, served by uvicorn on a port or run in-process for tests."""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from spacelift.sandbox.config import SandboxConfig
from spacelift.sandbox.control import control_routes
from spacelift.sandbox.graphql_endpoint import GraphQLEndpoint
from spacelift.sandbox.resolvers import build_schema
from spacelift.sandbox.sandbox import Sandbox

_log = logging.getLogger("spacelift.sandbox")
STARTUP_TIMEOUT = 10.0


def create_app(config: SandboxConfig | Sandbox) -> Starlette:
    """The ASGI app: ``/graphql``, the ``/sandbox/...`` control routes and ``/healthz``.

    Given a config it makes its own ``Sandbox`` (closed at lifespan shutdown); given a
    ``Sandbox`` it serves that one and leaves closing it to the caller. Either way the sandbox is
    ``app.state.sandbox``. The app works without a lifespan too (under ``httpx.ASGITransport``).
    """
    owned = isinstance(config, SandboxConfig)
    sandbox = Sandbox(config) if isinstance(config, SandboxConfig) else config

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "account": sandbox.config.account})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            await sandbox.aclose()

    routes = [
        Route("/graphql", GraphQLEndpoint(sandbox, build_schema()), methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *control_routes(sandbox),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return app


async def serve_sandbox(
    config: SandboxConfig | Sandbox,
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    log_level: str = "info",
) -> None:
    """Serve the sandbox until the task is cancelled or the process gets SIGINT/SIGTERM."""
    app = create_app(config)
    # A hung (chaos) request must not hold the shutdown for long.
    settings = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(settings)
    _log.warning("Spacelift sandbox (not a real Spacelift) at http://%s:%d/graphql", host, port)
    await server.serve()


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox served on a loopback port: ``url`` is the endpoint to give the client."""

    sandbox: Sandbox
    url: str
    port: int


@contextlib.asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | Sandbox, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSandbox]:
    """Serve the sandbox under uvicorn on ``port`` (0: a free one) for the ``async with`` block."""
    sandbox = Sandbox(config) if isinstance(config, SandboxConfig) else config
    listener = socket.create_server((host, port))
    bound = listener.getsockname()[1]
    uvicorn_config = uvicorn.Config(
        create_app(sandbox), log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(uvicorn_config)
    task = asyncio.create_task(server.serve(sockets=[listener]), name=f"sandbox-{bound}")
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:  # uvicorn offers a flag, not an event, to wait on
                if task.done():
                    await task  # raises what stopped it
                    msg = "the sandbox server stopped while starting"
                    raise RuntimeError(msg)
                await asyncio.sleep(0.01)
        yield RunningSandbox(sandbox, f"http://{host}:{bound}", bound)
    finally:
        if sandbox is not config:
            await sandbox.aclose()  # also releases hung requests, so shutdown is quick
        else:
            sandbox.closed.set()
        server.should_exit = True
        await task
        listener.close()
