"""Record workflow histories for the replay test: ``python -m tests.integration.histories.record
TAG``.

Record after a deliberate, replay-safe change (see "Changing workflows safely" in the README),
under a new TAG: the files already stored stay, since the point is that old histories keep
replaying while the new ones pin down the new code path.
"""

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory

from spacelift import Run
from temporal.client import connect
from temporal.devserver import DevServer
from temporal.inputs import Confirm, StackPolicy, lane_id
from tests.integration.conftest import Engine, engine_worker, free_port, graph_input
from tests.integration.fake_spacelift import FakeSpacelift

HERE = Path(__file__).parent


async def record(tag: str) -> None:
    """A diamond chain with a retry and an auto-confirmed run, and the lane that served it."""
    with tempfile.TemporaryDirectory() as folder:
        async with DevServer(Path(folder) / "t.db", port=free_port(), ui_port=None) as server:
            client = await connect(server.address)
            fake = FakeSpacelift()
            queue = f"record-{uuid.uuid4().hex[:6]}"
            engine = Engine(client, fake, queue, timedelta(seconds=60))
            fake.sink = engine.deliver
            fake.outcomes = {"database": ["FAILED", "FINISHED"], "app": ["UNCONFIRMED"]}
            policies = {
                "database": StackPolicy(retries=1, retry_backoff_seconds=0.1),
                "app": StackPolicy(retries=0, confirm=Confirm.AUTO),
            }
            graph = {"database": ["network"], "cache": ["network"], "app": ["database", "cache"]}
            worker = engine_worker(engine)
            async with worker:
                handle = await engine.start(graph_input("network", graph, policies=policies))
                await handle.result()
                chain = await handle.fetch_history()
                lane = await client.get_workflow_handle(lane_id(queue, "database")).fetch_history()
            await fake.aclose()
    for name, history in (("chain_diamond_retry_confirm", chain), ("lane_database", lane)):
        _store(name, tag, history)


async def record_lost_trigger(tag: str) -> None:
    """A lane whose trigger fails for good after Spacelift made the run: it finds and stops that
    run, holds a root that came meanwhile, starts its chain, and serves the next chain, whose
    trigger's answer is lost (the retry adopts the run; the lane searches the call's window)."""
    with tempfile.TemporaryDirectory() as folder:
        async with DevServer(Path(folder) / "t.db", port=free_port(), ui_port=None) as server:
            client = await connect(server.address)
            fake = FakeSpacelift()
            queue = f"record-{uuid.uuid4().hex[:6]}"
            engine = Engine(client, fake, queue, timedelta(milliseconds=300))
            fake.sink = engine.deliver
            fake.refuse_after_commit.add("database")
            fake.outcomes = {"database": ["HANG", "FINISHED"]}
            engine.plans["database"] = graph_input("database", {"app": ["database"]})
            graph = {"database": ["network"]}
            async with engine_worker(engine):
                await engine.run(graph_input("network", graph))
                root = fake.person_run("database")
                await engine.deliver(fake.event(root))
                fake.lose_trigger_answer.add("database")
                await engine.run(graph_input("network", graph))
                chain = client.get_workflow_handle(f"chain-database-{root.id}")
                await chain.result()
                lane = await client.get_workflow_handle(lane_id(queue, "database")).fetch_history()
            await fake.aclose()
    _store("lane_database_lost_trigger", tag, lane)


async def record_cancel_during_search(tag: str) -> None:
    """A lane whose trigger failed for good after Spacelift made the run (found and stopped):
    the next chain's trigger first searches the lost call's window, Spacelift is slow to list,
    and the chain is canceled meanwhile; the lane applies the release before triggering and
    makes no run."""
    with tempfile.TemporaryDirectory() as folder:
        async with DevServer(Path(folder) / "t.db", port=free_port(), ui_port=None) as server:
            client = await connect(server.address)
            fake = FakeSpacelift()
            queue = f"record-{uuid.uuid4().hex[:6]}"
            engine = Engine(client, fake, queue, timedelta(seconds=60))
            fake.sink = engine.deliver
            fake.refuse_after_commit.add("database")
            fake.outcomes = {"database": ["HANG", "HANG"]}
            graph = {"database": ["network"]}
            lane = client.get_workflow_handle(lane_id(queue, "database"))
            async with engine_worker(engine):
                await engine.run(graph_input("network", graph))
                (lost,) = fake.runs_of("database")
                await asyncio.wait_for(lost.done.wait(), 15)
                await _until(lambda: _quiet(lane))
                searching, answer = asyncio.Event(), asyncio.Event()
                list_runs = fake.list_runs

                async def slow_listing(stack_id: str, *, before: str | None = None) -> list[Run]:
                    searching.set()
                    await answer.wait()
                    return await list_runs(stack_id, before=before)

                fake.list_runs = slow_listing  # type: ignore[method-assign]
                chain = await engine.start(graph_input("network", graph))
                await asyncio.wait_for(searching.wait(), 15)
                await chain.signal("cancel")
                await chain.result()
                await _until(lambda: _has_signal(lane, "release_run"))
                answer.set()
                await _until(lambda: _quiet(lane))
                assert len(fake.runs_of("database")) == 1, "a canceled chain got a run"
                history = await lane.fetch_history()
            await fake.aclose()
    _store("lane_database_cancel_during_search", tag, history)


async def _until(predicate: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            sys.exit("the recorded scenario did not play out")
        await asyncio.sleep(0.05)


async def _has_signal(handle: WorkflowHandle[Any, Any], name: str) -> bool:
    return any(
        event.workflow_execution_signaled_event_attributes.signal_name == name
        for event in (await handle.fetch_history()).events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )


async def _quiet(handle: WorkflowHandle[Any, Any]) -> bool:
    """No activity in flight, and the last workflow task has completed."""
    if (await handle.describe()).raw_description.pending_activities:
        return False
    trailing = [event.event_type for event in (await handle.fetch_history()).events]
    while trailing and trailing[-1] in {
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_TIMER_CANCELED,
    }:
        trailing.pop()
    return bool(trailing) and trailing[-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


def _store(name: str, tag: str, history: WorkflowHistory) -> None:
    stored = {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}
    (HERE / f"{name}_{tag}.json").write_text(json.dumps(stored, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.integration.histories.record TAG")
    asyncio.run(record(sys.argv[1]))
    asyncio.run(record_lost_trigger(sys.argv[1]))
    asyncio.run(record_cancel_during_search(sys.argv[1]))
