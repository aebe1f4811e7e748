"""Temporal unreachable: webhooks are 503 (Spacelift retries), and the retry, once Temporal is
back, is accepted and held until a worker runs it. Its own dev server, stopped and restarted."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from app.core.chains import chain_input
from app.core.settings import load_settings
from app.core.temporal_connect import connect_temporal
from app.stackfile import load_stack_graph
from app.web.server import create_app
from temporal.client import deliver_run_event, root_chain_id
from temporal.devserver import DevServer
from temporal.inputs import ChainInput, RunEvent, StartChainRequest
from temporal.worker import build_worker
from tests.integration.api_support import STACKS, payload, root_event, sign
from tests.integration.conftest import eventually, free_port, workflow_exists
from tests.integration.fake_spacelift import FakeSpacelift

RPC_TIMEOUT = 2.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServer]:
    dev = DevServer(tmp_path / "down.db", port=free_port(), ui_port=None, log_file=tmp_path / "log")
    async with dev:
        yield dev


async def test_temporal_down_is_503_and_the_retry_is_not_lost(
    server: DevServer, tmp_path: Path
) -> None:
    """Temporal down: 503 in bounded time; back: the retry is 202 and its chain runs once."""
    config = tmp_path / "stacks.yaml"
    config.write_text(STACKS)
    settings = load_settings(
        webhook_secret="down-secret",
        config_path=config,
        task_queue=f"down-{uuid.uuid4().hex[:8]}",
        temporal_address=server.address,
    )
    app = create_app(settings, rpc_timeout=RPC_TIMEOUT)  # connects lazily, from the settings
    run_id = f"root{uuid.uuid4().hex[:10]}"
    warm = payload(root_event(run_id, state="APPLYING"))
    warm["stateVersion"] = 5
    body = payload(root_event(run_id))
    transport = httpx.ASGITransport(app=app)
    local = "http://127.0.0.1:8000"  # no API token: the server answers a loopback Host only
    async with httpx.AsyncClient(transport=transport, base_url=local) as http:

        async def deliver(event: dict[str, object]) -> httpx.Response:
            raw = httpx.Request("POST", "/", json=event).content
            return await http.post(
                "/webhooks/spacelift", content=raw, headers=sign(raw, "down-secret")
            )

        assert (await deliver(warm)).status_code == 202  # connected, the lane exists
        await server.stop()
        down = await deliver(body)
        assert down.status_code == 503
        assert down.elapsed.total_seconds() < RPC_TIMEOUT + 2
        assert "Temporal" in down.json()["detail"]
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"detail": "Temporal unreachable"}

        await server.start()
        retried = await deliver(body)
        assert retried.status_code == 202
        assert (await http.get("/readyz")).status_code == 200

    client = await connect_temporal(settings)
    await run_worker_until_chain_ends(client, settings.task_queue, config, run_id)


async def run_worker_until_chain_ends(
    client: Client, task_queue: str, config: Path, run_id: str
) -> None:
    """A worker started after the fact finds the held event and runs the root's chain once."""
    graph = load_stack_graph(config)
    planned: list[StartChainRequest] = []
    poll = timedelta(seconds=60)

    def planner(req: StartChainRequest) -> ChainInput | None:
        planned.append(req)
        return chain_input(graph, graph.plan(req.stack_id), root_run_id=req.run_id)

    async def sink(event: RunEvent) -> None:
        await deliver_run_event(client, event, task_queue=task_queue, poll_interval=poll)

    spacelift = FakeSpacelift()
    spacelift.sink = sink
    spacelift.person_run("network", run_id=run_id)  # the root, as Spacelift reads it back
    worker = build_worker(
        client, task_queue=task_queue, spacelift=spacelift, planner=planner, poll_interval=poll
    )
    try:
        async with worker:
            handle = client.get_workflow_handle(root_chain_id("network", run_id))

            await eventually(lambda: workflow_exists(handle))
            result = await asyncio.wait_for(handle.result(), 30)
    finally:
        await spacelift.aclose()
    assert result["status"] == "succeeded"
    assert [req.run_id for req in planned] == [run_id]
