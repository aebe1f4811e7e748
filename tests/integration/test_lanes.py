"""The races a lane must survive: lost, repeated and reordered events, fast runs, lost
answers, roots, and chains that overlap on a stack."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from temporal import client as workflows
from temporal.inputs import Confirm, RunEvent, RunRequest, StackPolicy, lane_id
from temporal.workflows.chain import ApproveRequest, DependencyChainWorkflow
from tests.integration.conftest import (
    Engine,
    EngineFactory,
    eventually,
    graph_input,
    stack_state,
    workflow_exists,
)

GRAPH = {"database": ["network"], "app": ["database"]}


def _one_run_per_trigger(engine: Engine) -> None:
    stacks = [stack for stack, _ in engine.spacelift.triggers]
    assert len(stacks) == len(set(stacks)), f"a stack was triggered twice: {stacks}"


async def test_lost_webhooks_are_recovered_by_polling(engine_factory: EngineFactory) -> None:
    """With every webhook lost, the chain still finishes by asking Spacelift."""
    async with engine_factory(poll_interval=timedelta(milliseconds=300)) as engine:
        engine.spacelift.drop_events = lambda _event: True
        result = await engine.run(graph_input("network", GRAPH))

    assert result["status"] == "succeeded"
    _one_run_per_trigger(engine)


async def test_a_lane_cancels_its_poll_timer_once_nothing_waits(engine: Engine) -> None:
    """After its run ends the lane leaves no timer armed, so it does not wake a poll later."""
    result = await engine.run(graph_input("network", GRAPH))
    assert result["status"] == "succeeded"
    lane = engine.client.get_workflow_handle(lane_id(engine.task_queue, "app"))

    async def poll_timer_cancelled() -> bool:
        events = (await lane.fetch_history()).events
        started = [e.event_id for e in events if e.HasField("timer_started_event_attributes")]
        cancelled = {
            e.timer_canceled_event_attributes.started_event_id
            for e in events
            if e.HasField("timer_canceled_event_attributes")
        }
        return bool(started) and started[-1] in cancelled

    await eventually(poll_timer_cancelled)


async def test_duplicate_and_reordered_events_have_one_effect(engine: Engine) -> None:
    """Every event delivered twice and the previous one again after it: same outcome, no roots."""
    previous: dict[str, RunEvent] = {}
    deliver = engine.deliver

    async def unruly(event: RunEvent) -> None:
        await deliver(event)
        await deliver(event)
        if event.run_id in previous:
            await deliver(previous[event.run_id])  # an older state arrives late
        previous[event.run_id] = event

    engine.spacelift.sink = unruly
    engine.plans["network"] = graph_input("network", GRAPH)
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    result = await engine.run(graph_input("network", GRAPH))

    assert result["status"] == "succeeded"
    _one_run_per_trigger(engine)
    assert engine.planned == []  # no run of ours was mistaken for a root


async def test_a_root_delivered_three_times_starts_one_chain(engine: Engine) -> None:
    """A tracked FINISHED run nobody in stackchain made starts chain-<S>-<run> exactly once."""
    engine.plans["network"] = graph_input("network", GRAPH)
    run_id = engine.spacelift.person_run("network").id
    event = RunEvent(
        stack_id="network",
        run_id=run_id,
        state="FINISHED",
        state_version=6,
        created_at=datetime.now(UTC),
        has_changes=True,
        commit_sha="3f1c9a27",
    )
    for _ in range(3):
        await engine.deliver(event)

    handle = engine.client.get_workflow_handle(workflows.root_chain_id("network", run_id))
    await eventually(lambda: workflow_exists(handle))
    result = await handle.result()

    assert result["status"] == "succeeded"
    assert result["root_run_id"] == run_id
    assert [req.run_id for req in engine.planned] == [run_id]
    _one_run_per_trigger(engine)


async def test_proposed_and_unfinished_runs_start_nothing(engine: Engine) -> None:
    """Only TRACKED runs that reach FINISHED are roots."""
    engine.plans["network"] = graph_input("network", GRAPH)

    def event(run_id: str, state: str, run_type: str = "TRACKED") -> RunEvent:
        return RunEvent("network", run_id, state, run_type, created_at=datetime.now(UTC))

    await engine.deliver(event("p1", "FINISHED", "PROPOSED"))
    await engine.deliver(event("t1", "APPLYING"))
    await engine.deliver(event("t2", "FAILED"))
    marker = event(engine.spacelift.person_run("network").id, "FINISHED")
    await engine.deliver(marker)  # handled after the three above: the lane is sequential

    await eventually(lambda: _planned(engine, 1))
    assert [req.run_id for req in engine.planned] == [marker.run_id]


async def test_a_fast_run_is_not_mistaken_for_a_root(engine: Engine) -> None:
    """Events that arrive before runTrigger answers wait for the run id, and start no chain."""
    engine.spacelift.finish_before_answer.add("database")
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    result = await engine.run(graph_input("network", GRAPH))

    assert result["status"] == "succeeded"
    assert engine.planned == []
    _one_run_per_trigger(engine)


async def test_a_lost_trigger_answer_adopts_the_run_it_made(engine: Engine) -> None:
    """runTrigger commits but its answer is lost: the retry adopts that run, making no other."""
    engine.spacelift.lose_trigger_answer.add("database")
    result = await engine.run(graph_input("network", GRAPH))

    assert result["status"] == "succeeded"
    (run,) = engine.spacelift.runs_of("database")
    assert result["stacks"]["database"]["run_id"] == run.id
    assert result["stacks"]["database"]["attempts"] == 1
    _one_run_per_trigger(engine)


async def test_overlapping_chains_share_a_run_started_after_both_were_ready(
    engine: Engine,
) -> None:
    """Two chains that ask for a stack while its lane is busy get one run of it, made after
    both asked; a request made while a trigger is in flight never shares that trigger's run
    (nobody can tell whether Spacelift made it before or after the request)."""
    gate = asyncio.Event()
    engine.spacelift.trigger_gates["shared"] = gate
    busy = await engine.start(graph_input("z", {"shared": ["z"]}))
    await eventually(lambda: _gated(engine, "shared"))  # z's trigger is in flight
    first = await engine.start(graph_input("a", {"shared": ["a"]}))
    second = await engine.start(graph_input("b", {"shared": ["b"]}))
    await eventually(lambda: _state_is(first, "shared", "triggered"))
    await eventually(lambda: _state_is(second, "shared", "triggered"))
    gate.set()

    zero, one, two = await busy.result(), await first.result(), await second.result()
    made_first, made_next = engine.spacelift.runs_of("shared")
    assert zero["stacks"]["shared"]["run_id"] == made_first.id
    assert one["stacks"]["shared"]["run_id"] == made_next.id
    assert two["stacks"]["shared"]["run_id"] == made_next.id


async def test_a_chain_queues_behind_a_run_that_started_before_it_was_ready(
    engine: Engine,
) -> None:
    """A run created before a chain's upstream finished is not shared: the chain queues."""
    engine.spacelift.outcomes["shared"] = ["UNCONFIRMED", "FINISHED"]
    wait = {"shared": StackPolicy(retries=0, confirm=Confirm.WAIT)}
    first = await engine.start(graph_input("a", {"shared": ["a"]}, policies=wait))
    await eventually(lambda: _state_is(first, "shared", "awaiting_confirmation"))
    second = await engine.start(graph_input("b", {"shared": ["b"]}))
    await eventually(lambda: _state_is(second, "shared", "triggered"))
    assert len(engine.spacelift.runs_of("shared")) == 1

    await first.execute_update(DependencyChainWorkflow.approve, ApproveRequest("shared"))
    one, two = await first.result(), await second.result()

    older, newer = engine.spacelift.runs_of("shared")
    assert one["stacks"]["shared"]["run_id"] == older.id
    assert two["stacks"]["shared"]["run_id"] == newer.id
    assert older.finished_at is not None
    assert newer.created_at >= older.finished_at


async def _planned(engine: Engine, count: int) -> bool:
    return len(engine.planned) >= count


async def _gated(engine: Engine, stack_id: str) -> bool:
    return stack_id in engine.spacelift.gated_triggers


async def _state_is(handle: WorkflowHandle[Any, Any], stack_id: str, state: str) -> bool:
    return await stack_state(handle, stack_id) == state


async def test_a_run_whose_chain_is_gone_is_stopped(engine: Engine) -> None:
    """A run no chain can hear about any more (its chain ended) is stopped, not left running."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    request = RunRequest(chain_id="chain-that-ended", key="gone/database/1", not_before=_now())
    await engine.request("database", request)
    run = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
    await asyncio.wait_for(run.done.wait(), 15)

    assert engine.spacelift.stops == [run.id]
    assert run.state == "STOPPED"


def _now() -> datetime:
    return datetime.now(UTC)
