"""The operator commands against a running server (uvicorn on a loopback port, real Temporal)."""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing
from typer.testing import CliRunner, Result

from app.cli import app as cli
from app.core import settings as settings_module
from app.launch.api import uvicorn_server
from temporal.devserver import DevServer
from tests.integration.api_support import STACKS, TOKEN, Api, api_for
from tests.integration.conftest import Engine, eventually, free_port


@pytest.fixture
async def served(engine: Engine, tmp_path: Path) -> AsyncIterator[Api]:
    """The app on uvicorn at a free loopback port, its logs kept out of the CLI's output."""
    port = free_port()
    async with api_for(engine, tmp_path) as api:
        server = uvicorn_server(api.app, api.settings, host="127.0.0.1", port=port)
        with structlog.testing.capture_logs():
            task = asyncio.create_task(server.serve())

            async def up() -> bool:
                return server.started

            await eventually(up)
            api.settings = api.settings.model_copy(update={"url": f"http://127.0.0.1:{port}"})
            try:
                yield api
            finally:
                server.should_exit = True
                await task


@pytest.fixture
def environment(served: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STACKCHAIN_URL", served.settings.url)
    monkeypatch.setenv("STACKCHAIN_API_TOKEN", TOKEN)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()


async def run(*args: str) -> Result:
    """``stackchain ARGS`` in a thread, so the server keeps serving on this loop."""

    def invoke() -> Result:
        return CliRunner().invoke(cli, list(args))

    return await asyncio.to_thread(invoke)


def data(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.mark.usefixtures("environment")
async def test_trigger_wait_chains_and_status(served: Api) -> None:
    """trigger --wait exits 0 once the chain succeeds; chains and status show it as JSON."""
    triggered = await run("trigger", "network", "--wait", "--interval", "0.1", "-o", "json")
    assert triggered.exit_code == 0, triggered.output
    chain = data(triggered)
    assert chain["status"] == "succeeded"
    chain_id = chain["chain_id"]

    async def listed() -> bool:
        result = await run("chains", "--status", "succeeded", "--output", "json")
        return [c["chain_id"] for c in data(result)["chains"]] == [chain_id]

    await eventually(listed)
    status = await run("status", chain_id, "--output", "json")
    assert status.exit_code == 0
    assert data(status)["stacks"]["app"]["state"] == "succeeded"
    table = await run("status", chain_id)
    assert "database" in table.stdout
    assert "succeeded" in table.stdout
    listing = await run("chains")
    assert chain_id in listing.stdout
    assert served.engine.spacelift.runs_of("app")


@pytest.mark.usefixtures("environment")
async def test_approve_and_watch(served: Api) -> None:
    """approve confirms the waiting run (again: exit 1); status --watch exits 0 on success."""
    served.engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
    chain_id = (await run("trigger", "network")).stdout.strip()
    assert chain_id.startswith("chain-network-manual-")

    async def waiting() -> bool:
        result = await run("status", chain_id, "-o", "json")
        return bool(data(result)["stacks"]["database"]["state"] == "awaiting_confirmation")

    await eventually(waiting)
    approved = await run("approve", chain_id, "database")
    assert approved.exit_code == 0, approved.output
    assert "confirmed database run" in approved.stdout
    watched = await run("status", chain_id, "--watch", "--interval", "0.1")
    assert watched.exit_code == 0, watched.output
    again = await run("approve", chain_id, "database")
    assert again.exit_code == 1
    assert "409" in again.output


@pytest.mark.usefixtures("environment")
async def test_cancel_and_failures(served: Api) -> None:
    """cancel exits 0, watching it ends 1; unknown chains and stacks exit 1, bad usage 2."""
    served.engine.spacelift.outcomes["database"] = ["HANG"]
    chain_id = (await run("trigger", "network", "-o", "json")).stdout
    chain_id = json.loads(chain_id)["chain_id"]
    watch = asyncio.create_task(run("status", chain_id, "--watch", "--interval", "0.1"))
    await asyncio.wait_for(served.engine.spacelift.wait_for_run("database"), 15)
    canceled = await run("cancel", chain_id)
    assert canceled.exit_code == 0, canceled.output
    watched = await watch
    assert watched.exit_code == 1
    assert "canceled" in watched.output

    unknown = await run("status", "chain-nope")
    assert unknown.exit_code == 1
    assert "no chain" in unknown.output
    assert (await run("trigger", "nope")).exit_code == 1
    assert (await run("chains", "--status", "bogus")).exit_code == 2
    assert (await run("approve", chain_id)).exit_code == 2


async def test_commands_report_an_unreachable_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing listening at STACKCHAIN_URL, commands exit 1 and name the address."""
    monkeypatch.setenv("STACKCHAIN_URL", f"http://127.0.0.1:{free_port()}")
    settings_module.get_settings.cache_clear()
    try:
        result = await run("chains")
    finally:
        settings_module.get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot reach the stackchain API" in result.output


async def test_api_command_serves_and_stops_cleanly(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    """stackchain api serves /readyz 200 against TEMPORAL_ADDRESS and exits 0 on SIGTERM."""
    port = free_port()
    config = tmp_path / "stacks.yaml"
    config.write_text(STACKS)
    environment = os.environ | {
        "TEMPORAL_ADDRESS": temporal_server.address,
        "STACKCHAIN_CONFIG": str(config),
        "STACKCHAIN_WEBHOOK_SECRET": "s",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("stackchain")),
        "api",
        "--port",
        str(port),
        env=environment,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=30)
    finally:
        process.terminate()
        _, errors = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, errors.decode()[-2000:]
    assert b"Application shutdown complete" in errors
