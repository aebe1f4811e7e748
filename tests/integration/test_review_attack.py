"""A second review of the engine (after the first fixes of issue 12): the promises it broke.

Each test is deterministic against the real Temporal dev server and the in-process fake
Spacelift; each failed on the engine at 1292b6d and passes since its fix.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from spacelift import Run, StackNotFoundError
from temporal import client as workflows
from temporal.inputs import StackPolicy
from tests.integration.conftest import (
    Engine,
    eventually,
    graph_input,
    reconciling_engine,
    workflow_exists,
)

GRAPH = {"database": ["network"]}
POLL = timedelta(milliseconds=300)


def _chain_of(engine: Engine, stack_id: str, run_id: str) -> WorkflowHandle[Any, Any]:
    return engine.client.get_workflow_handle(workflows.root_chain_id(stack_id, run_id))


async def test_a_lost_answer_after_twenty_recent_runs_adopts_an_old_run(engine: Engine) -> None:
    """Exactly one run per attempt; runs are stackchain's or not, never confused.

    The lane has made 21 runs of ``database`` in the last two minutes (a retried stack). The
    22nd trigger's answer is lost. The retry is told only the lane's 20 newest run ids, so it
    finds two "unknown" runs of stackchain's: the 1st (long FAILED) and the 22nd (just made),
    and adopts the oldest. The attempt is handed a run made before it was asked for (and fails
    with it), and the run really made for it finishes unknown to the lane: a root, whose chain
    the readback lets start although stackchain created it.
    """
    spacelift = engine.spacelift
    spacelift.outcomes["database"] = ["FAILED"] * 21 + ["FINISHED"] * 3
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    trigger = spacelift.trigger_run

    async def losing_the_22nd_answer(stack_id: str, *, commit_sha: str | None = None) -> Run:
        if stack_id == "database" and len(spacelift.runs_of("database")) == 21:
            spacelift.lose_trigger_answer.add("database")
        return await trigger(stack_id, commit_sha=commit_sha)

    spacelift.trigger_run = losing_the_22nd_answer  # type: ignore[method-assign]
    policies = {"database": StackPolicy(retries=30, retry_backoff_seconds=0)}

    result = await asyncio.wait_for(
        engine.run(graph_input("network", GRAPH, policies=policies)), 60
    )
    made = spacelift.runs_of("database")
    twenty_second = made[21]
    await asyncio.wait_for(twenty_second.done.wait(), 10)
    await asyncio.sleep(2)  # time for the lane to take the 22nd run's FINISHED for a root

    seen = {
        "status": result["status"],
        "attempts": result["stacks"]["database"]["attempts"],
        "runs made": len(made),
        "the 22nd attempt's run": result["stacks"]["database"]["run_id"] == twenty_second.id,
        "roots planned": [req.run_id for req in engine.planned],
        "chain from our own run": await workflow_exists(
            _chain_of(engine, "database", twenty_second.id)
        ),
    }
    assert seen == {
        "status": "succeeded",
        "attempts": 22,
        "runs made": 22,
        "the 22nd attempt's run": True,
        "roots planned": [],
        "chain from our own run": False,
    }


async def test_a_root_read_back_during_a_spacelift_hiccup_still_gets_its_chain(
    temporal_client: Client,
) -> None:
    """A lost root webhook never loses a chain (and a root that arrived, even less).

    A person's run FINISHED; its webhook arrives, but Spacelift answers the readback with a
    not-found (a replica behind, an API hiccup: any non-retryable error will do). The lane has
    already put the run in ``_roots``, so ``unseen_runs`` hides it from the reconciler for
    ever: once Spacelift answers again, no round hands it over and the chain never starts.
    """
    async with reconciling_engine(temporal_client, root_stacks=["database"]) as engine:
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        root = engine.spacelift.person_run("database")
        engine.spacelift.forget_runs = True
        await engine.deliver(engine.spacelift.event(root))
        lane = engine.client.get_workflow_handle(f"stack-database@{engine.task_queue}")
        await eventually(lambda: _start_chain_failed(lane), 30)
        engine.spacelift.forget_runs = False

        await eventually(lambda: workflow_exists(_chain_of(engine, "database", root.id)), 10)


async def test_one_stack_spacelift_does_not_know_blinds_the_reconciler(
    temporal_client: Client,
) -> None:
    """A lost root webhook never loses a chain.

    The file names a stack Spacelift does not have (deleted there, or out of the API key's
    reach). ``reconcile_roots`` reads the stacks in one activity, in order: the stack's
    StackNotFoundError fails every round before it reaches ``database``, whose root's webhook
    was lost; no chain ever starts.
    """
    async with reconciling_engine(temporal_client, root_stacks=["ghost", "database"]) as engine:
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        list_runs = engine.spacelift.list_runs

        async def no_ghost(stack_id: str, *, before: str | None = None) -> list[Run]:
            if stack_id == "ghost":
                raise StackNotFoundError("no stack 'ghost'", operation="runs", stack_id=stack_id)
            return await list_runs(stack_id, before=before)

        engine.spacelift.list_runs = no_ghost  # type: ignore[method-assign]
        root = engine.spacelift.person_run("database")  # its webhook is never delivered

        await eventually(lambda: workflow_exists(_chain_of(engine, "database", root.id)), 10)


async def test_the_reconciler_hands_back_stackchains_own_run_with_spacelift_ahead(
    temporal_client: Client,
) -> None:
    """Only real roots start chains; a run stackchain created is never taken for a root.

    Spacelift's clock is ahead of Temporal's by ``skew`` (here 2.5 s against an event age limit
    of 4 s; in production, say a minute against six hours). The lane forgets its run an age
    limit after it last heard of it by Temporal's clock; the reconciler hands over FINISHED
    runs for an age limit after ``updated_at`` by Spacelift's. In between (once the lane has
    pruned, at its next trigger) stackchain's own run is "unseen", the lane takes it for a
    root, and ``start_chain`` reads it back without asking who triggered it: a chain starts.
    """
    max_age = timedelta(seconds=4)
    async with reconciling_engine(
        temporal_client, root_stacks=["database"], event_max_age=max_age
    ) as engine:
        engine.spacelift.clock_skew = 2.5
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        first = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        (ours,) = engine.spacelift.runs_of("database")
        assert first["stacks"]["database"]["run_id"] == ours.id
        await asyncio.sleep(max_age.total_seconds() + 0.3)  # the lane may now forget it
        second = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        assert second["status"] == "succeeded"
        await asyncio.sleep(1.5)  # a few reconciler rounds, inside the skew

        assert engine.planned == []
        assert not await workflow_exists(_chain_of(engine, "database", ours.id))


async def _start_chain_failed(lane: WorkflowHandle[Any, Any]) -> bool:
    try:
        events = (await lane.fetch_history()).events
    except RPCError:  # not started yet
        return False
    return any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED for e in events)
