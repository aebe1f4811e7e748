"""A lane keeps serving its stack through faults: permanent Spacelift errors, a broken
dependency file, and chains or lanes that disappear."""

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowExecutionStatus

from temporal.inputs import RunEvent, StackPolicy, lane_id
from temporal.workflows.chain import DependencyChainWorkflow
from tests.integration.conftest import (
    Engine,
    EngineFactory,
    eventually,
    graph_input,
    workflow_exists,
)

GRAPH = {"database": ["network"], "app": ["database"]}


async def test_a_run_spacelift_cannot_find_does_not_end_the_lane(
    engine_factory: EngineFactory,
) -> None:
    """Polling a run Spacelift no longer knows fails that poll only: the chain gives up on the
    run at run_timeout and the lane is still running."""
    async with engine_factory(poll_interval=timedelta(milliseconds=200)) as engine:
        engine.spacelift.outcomes["database"] = ["HANG"]
        engine.spacelift.drop_events = lambda event: event.stack_id == "database"
        engine.spacelift.forget_runs = True
        result = await engine.run(graph_input("network", GRAPH, run_timeout_seconds=2.0))
        lane = engine.client.get_workflow_handle(lane_id(engine.task_queue, "database"))
        description = await lane.describe()

    assert result["stacks"]["database"]["reason"] == "run timed out"
    assert description.status == WorkflowExecutionStatus.RUNNING


async def test_the_run_of_a_trigger_that_failed_for_good_is_found_and_stopped(
    engine: Engine,
) -> None:
    """runTrigger creates the run but answers a permanent error: the lane finds that run and
    stops it (it is not left to apply), and the chain's retry runs on a run of its own."""
    engine.spacelift.refuse_after_commit.add("database")
    engine.spacelift.outcomes["database"] = ["HANG", "FINISHED"]
    policies = {"database": StackPolicy(retries=1, retry_backoff_seconds=0.05)}
    result = await engine.run(graph_input("network", GRAPH, policies=policies))

    assert result["status"] == "succeeded"
    lost, retried = engine.spacelift.runs_of("database")
    await asyncio.wait_for(lost.done.wait(), 15)
    assert lost.state == "STOPPED"
    assert result["stacks"]["database"]["run_id"] == retried.id
    assert result["stacks"]["database"]["attempts"] == 2


async def test_a_root_whose_chain_cannot_be_planned_does_not_block_the_lane(
    engine: Engine,
) -> None:
    """While the dependency file is broken a root's chain waits, and the stack's lane goes on
    serving other chains; once the file is fixed, the root's chain starts."""
    engine.broken_file = "config/stacks.yaml:3: stack 'app': depends_on 'dtabase' is not a stack"
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    root = engine.spacelift.person_run("database").id
    await engine.deliver(
        RunEvent("database", root, "FINISHED", created_at=datetime.now(UTC), has_changes=True)
    )
    other = await engine.run(graph_input("network", GRAPH))
    assert other["status"] == "succeeded"  # the database lane served this chain meanwhile

    engine.broken_file = None
    handle = engine.client.get_workflow_handle(f"chain-database-{root}")

    await eventually(lambda: workflow_exists(handle), within=60)  # start_chain backs off to 30 s
    assert (await asyncio.wait_for(handle.result(), 30))["status"] == "succeeded"


async def test_a_chain_whose_lane_was_terminated_can_still_be_canceled(engine: Engine) -> None:
    """An operator terminated a lane by hand: cancelling the chain cannot reach it, and the
    chain still ends canceled."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    engine.spacelift.drop_events = lambda _event: True  # no webhook may start a new lane
    handle = await engine.start(graph_input("network", GRAPH))
    run = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
    await asyncio.wait_for(engine.spacelift.wait_for_state(run, "PLANNING"), 15)
    lane = engine.client.get_workflow_handle(lane_id(engine.task_queue, "database"))
    await lane.terminate(reason="test: an operator removed it")
    assert (await lane.describe()).status == WorkflowExecutionStatus.TERMINATED

    await handle.signal(DependencyChainWorkflow.cancel)
    result = await asyncio.wait_for(handle.result(), 30)
    assert result["status"] == "canceled"
