"""The real processes on loopback: ``stackchain api`` and ``stackchain worker`` as subprocesses,
the Spacelift sandbox (in this process, served over HTTP), and a Temporal dev server."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from app.launch.sandbox import sandbox_config
from app.stackfile import parse_stack_graph
from spacelift.sandbox import (
    DEFAULT_KEY_ID,
    DEFAULT_KEY_SECRET,
    Chaos,
    Durations,
    Sandbox,
    running_sandbox,
)
from temporal.devserver import DevServer
from tests.integration.conftest import free_port

WEBHOOK_SECRET = "e2e-webhook-secret"
QUICK = Durations(queued=0.02, preparing=0.05, planning=0.1, applying=0.1)


@pytest.fixture(scope="session")
async def e2e_temporal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    folder = tmp_path_factory.mktemp("e2e-temporal")
    server = DevServer(folder / "t.db", port=free_port(), ui_port=None)
    async with server:
        yield server


@dataclass
class System:
    """One stackchain deployment (its own task queue) against the sandbox."""

    sandbox: Sandbox
    api_url: str
    env: dict[str, str]
    folder: Path
    http: httpx.AsyncClient
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "app", *args],
            env=self.env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    def push(self, stack_id: str) -> str:
        """A commit lands on the stack's tracked branch; returns the tracked run's id."""
        return self.sandbox.push(stack_id).id

    async def chain(self, chain_id: str, within: float = 30) -> dict[str, Any]:
        """The chain's document once it has ended."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            answer = await self.http.get(f"/api/v1/chains/{chain_id}")
            if answer.status_code == 200 and answer.json()["status"] != "running":
                return dict(answer.json())
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"{chain_id} did not end within {within}s: {answer.text}")
            await asyncio.sleep(0.2)

    async def stack_state(self, chain_id: str, stack_id: str) -> str | None:
        answer = await self.http.get(f"/api/v1/chains/{chain_id}")
        if answer.status_code != 200:
            return None
        return str(answer.json()["stacks"][stack_id]["state"])

    def runs_per_stack(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.sandbox.runs():
            counts[run.stack_id] = counts.get(run.stack_id, 0) + 1
        return counts

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")


async def until(condition: Callable[[], Any], within: float = 30, what: str = "") -> None:
    """Wait for a condition (sync or async) with a deadline."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {within}s: {what}")
        await asyncio.sleep(0.1)


class SystemFactory(Protocol):
    def __call__(
        self,
        stacks_yaml: str,
        *,
        chaos: Chaos | None = None,
        durations: Durations = QUICK,
        temporal: DevServer | None = None,
    ) -> AbstractAsyncContextManager[System]: ...


@pytest.fixture
def system(e2e_temporal: DevServer, tmp_path: Path) -> SystemFactory:
    """Start a system for a dependency file; the API and one worker run as subprocesses."""

    @asynccontextmanager
    async def start(
        stacks_yaml: str,
        *,
        chaos: Chaos | None = None,
        durations: Durations = QUICK,
        temporal: DevServer | None = None,
    ) -> AsyncIterator[System]:
        config_path = tmp_path / "stacks.yaml"
        config_path.write_text(stacks_yaml)
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        config = sandbox_config(
            parse_stack_graph(stacks_yaml),
            webhook_url=f"{api_url}/webhooks/spacelift",
            webhook_secret=WEBHOOK_SECRET,
            durations=durations,
        )
        if chaos is not None:
            config = replace(config, chaos=chaos)
        async with running_sandbox(config) as served:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "TEMPORAL_ADDRESS": (temporal or e2e_temporal).address,
                "STACKCHAIN_TASK_QUEUE": f"e2e-{uuid.uuid4().hex[:10]}",
                "STACKCHAIN_CONFIG": str(config_path),
                "STACKCHAIN_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STACKCHAIN_POLL_INTERVAL": "1s",
                "SPACELIFT_API_KEY_ENDPOINT": served.url,
                "SPACELIFT_API_KEY_ID": DEFAULT_KEY_ID,
                "SPACELIFT_API_KEY_SECRET": DEFAULT_KEY_SECRET,
            }
            async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
                system = System(served.sandbox, api_url, env, tmp_path, http)
                system.spawn("api", "api", "--port", str(port))
                system.spawn("worker", "worker")
                try:
                    await until(lambda: _ready(http), 30, "the API answering /readyz")
                    yield system
                finally:
                    system.stop_all()

    return start


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False
