"""Chains survive the Temporal server restarting on its store."""

import uuid
from datetime import timedelta
from pathlib import Path

from temporal.client import connect
from temporal.devserver import DevServer
from temporal.inputs import Confirm, StackPolicy
from temporal.workflows.chain import ApproveRequest, DependencyChainWorkflow
from tests.integration.conftest import (
    Engine,
    engine_worker,
    eventually,
    free_port,
    graph_input,
    stack_state,
)
from tests.integration.fake_spacelift import FakeSpacelift


async def test_a_chain_carries_on_after_the_temporal_server_restarts(tmp_path: Path) -> None:
    """Stop the dev server mid-chain and start it on the same SQLite file: the chain finishes,
    no stack is triggered twice."""
    server = DevServer(tmp_path / "temporal.db", port=free_port(), ui_port=None)
    await server.start()
    client = await connect(server.address)
    fake = FakeSpacelift()
    engine = Engine(client, fake, f"restart-{uuid.uuid4().hex[:8]}", timedelta(milliseconds=500))
    fake.sink = engine.deliver
    fake.outcomes["database"] = ["UNCONFIRMED"]
    wait = {"database": StackPolicy(retries=0, confirm=Confirm.WAIT)}
    worker = engine_worker(engine)
    try:
        async with worker:
            graph = {"database": ["network"], "app": ["database"], "cache": ["network"]}
            handle = await engine.start(graph_input("network", graph, policies=wait))

            async def awaiting() -> bool:
                return await stack_state(handle, "database") == "awaiting_confirmation"

            await eventually(awaiting)
            await server.stop()
            await server.start()

            await eventually(awaiting, within=30)
            await handle.execute_update(DependencyChainWorkflow.approve, ApproveRequest("database"))
            result = await handle.result()
    finally:
        await fake.aclose()
        await server.stop()

    assert result["status"] == "succeeded"
    stacks = [stack for stack, _ in fake.triggers]
    assert sorted(stacks) == ["app", "cache", "database"]
