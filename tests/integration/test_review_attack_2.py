"""A third review of the engine: the promises it broke after test_review_bugs.py and
test_review_attack.py.

Each test is deterministic against the real Temporal dev server and the in-process fake
Spacelift; each failed on the engine at 670402d and passes since its fix.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from spacelift import Run
from spacelift._parsing import parse_list
from temporal import client as workflows
from temporal.inputs import OnFailure, RunRequest, StackPolicy, lane_id
from tests.integration.conftest import (
    Engine,
    engine_with,
    eventually,
    graph_input,
    reconciling_engine,
    stack_state,
    workflow_exists,
)
from tests.integration.fake_spacelift import TERMINAL, FakeRun

GRAPH = {"database": ["network"]}
POLL = timedelta(milliseconds=300)


async def _is(handle: WorkflowHandle[Any, Any], stack_id: str, state: str) -> bool:
    return await workflow_exists(handle) and await stack_state(handle, stack_id) == state


async def test_stop_chain_cancels_a_stack_still_queued_behind_another_chains_run(
    engine: Engine,
) -> None:
    """stop_chain cancels what has not started (README: "runs in flight finish").

    Chain B's run of ``x`` waits in UNCONFIRMED. Chain A asks for ``x`` and ``f`` at once;
    ``x`` queues in the lane behind B's run (made before A asked). ``f`` fails with
    ``stop_chain``. A's ``x`` has not started (no run exists for it), yet the chain leaves it
    ``triggered``: it neither cancels it nor releases the lane's queued request. A cannot end
    until B's run is over, and then the lane triggers a run of ``x`` for the stopped chain.
    """
    spacelift = engine.spacelift
    spacelift.outcomes = {"x": ["UNCONFIRMED", "FINISHED"], "f": ["FAILED"]}
    b = await engine.start(graph_input("other", {"x": ["other"]}))
    await eventually(lambda: _is(b, "x", "awaiting_confirmation"))

    stop = StackPolicy(retries=0, on_failure=OnFailure.STOP_CHAIN)
    a = await engine.start(
        graph_input("root", {"f": ["root"], "x": ["root"]}, policies={"f": stop})
    )
    await eventually(lambda: _is(a, "f", "failed"))

    try:
        ended_alone: dict[str, Any] | None = await asyncio.wait_for(a.result(), 5)
    except TimeoutError:
        ended_alone = None
    await b.execute_update("approve", {"stack_id": "x"})
    assert (await asyncio.wait_for(b.result(), 15))["status"] == "succeeded"
    result = await asyncio.wait_for(a.result(), 15)  # B's run ended after A's release

    seen = {
        "A ended without waiting on B": ended_alone is not None,
        "A's x": result["stacks"]["x"]["state"],
        "runs of x": len(spacelift.runs_of("x")),
    }
    assert seen == {"A ended without waiting on B": True, "A's x": "canceled", "runs of x": 1}


async def test_with_a_token_a_lost_first_answer_never_takes_a_persons_run(
    temporal_client: Client,
) -> None:
    """Runs are stackchain's or not, never confused.

    With ``SPACELIFT_API_TOKEN`` the identity is unknown until a runTrigger answers. That first
    answer is lost; a person started a run of the stack a moment before. The retry cannot tell
    the two apart, so it adopts neither: it makes a run of its own, learns the identity from
    its answer, and then finds and stops the lost answer's run. The person's run is left alone.
    """
    async with engine_with(temporal_client, identity=None) as engine:
        spacelift = engine.spacelift
        spacelift.outcomes["database"] = ["HANG", "FINISHED"]
        person = spacelift.person_run("database", state="PLANNING")
        spacelift.lose_trigger_answer.add("database")

        result = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        lost, ours = [run for run in spacelift.runs_of("database") if run is not person]
        await asyncio.wait_for(lost.done.wait(), 10)
        await eventually(lambda: _no_pending_activity(engine, "database"))

    assert result["stacks"]["database"]["run_id"] == ours.id
    assert lost.state == "STOPPED"
    assert person.id not in spacelift.stops


async def test_with_a_token_a_lost_triggers_run_is_stopped_once_the_identity_is_known(
    temporal_client: Client,
) -> None:
    """Runs are stackchain's or not, never confused.

    Same setting; the lane's first trigger fails for good after Spacelift made the run. Until
    stackchain knows its identity it cannot tell that run from a person's made in the same
    window, so it stops neither; the next trigger's answer tells it, and then only its own
    lost run is stopped.
    """
    async with engine_with(temporal_client, identity=None) as engine:
        spacelift = engine.spacelift
        spacelift.outcomes["database"] = ["HANG", "FINISHED"]
        person = spacelift.person_run("database", state="PLANNING")
        spacelift.refuse_after_commit.add("database")

        failed = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        (lost,) = [run for run in spacelift.runs_of("database") if run is not person]
        assert spacelift.stops == []  # nothing told apart yet
        second = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        await asyncio.wait_for(lost.done.wait(), 10)
        await eventually(lambda: _no_pending_activity(engine, "database"))

    assert failed["status"] == "failed"
    assert second["status"] == "succeeded"
    assert lost.state == "STOPPED"
    assert person.id not in spacelift.stops


async def _no_pending_activity(engine: Engine, stack_id: str) -> bool:
    lane = engine.client.get_workflow_handle(lane_id(engine.task_queue, stack_id))
    return not (await lane.describe()).raw_description.pending_activities


def _payload(run: FakeRun) -> dict[str, Any]:
    """The run as Spacelift's API answers it (what ``FakeRun.model`` validates)."""
    return {
        "id": run.id,
        "state": run.state,
        "type": "TRACKED",
        "createdAt": run.created_at.timestamp(),
        "triggeredBy": run.triggered_by,
        "finished": run.state in TERMINAL,
        "delta": {"addCount": int(run.changes), "changeCount": 0, "deleteCount": 0},
        "history": [
            {"state": s, "stateVersion": v, "timestamp": at, "terminal": s in TERMINAL}
            for s, v, at in run.history
        ],
    }


async def test_a_run_in_a_state_the_client_does_not_know_blinds_the_reconciler(
    temporal_client: Client,
) -> None:
    """A run state the client does not know is never an error; a lost root webhook never loses
    a chain.

    A person's run of ``database`` FINISHED and its webhook was lost. A newer run of the stack
    sits in Spacelift's deprecated ``PENDING`` (queued behind a lock, say). The real client's
    ``list_runs`` parses the page with ``Run.state: RunState`` (``spacelift/_client.py``), so
    the unknown state makes the whole page an ``UnexpectedResponseError``: every reconcile
    round skips the stack, and the root's chain never starts while that run waits (past the
    event age limit, never).
    """
    async with reconciling_engine(temporal_client, root_stacks=["database"]) as engine:
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        spacelift = engine.spacelift
        root = spacelift.person_run("database")  # its webhook never comes
        spacelift.person_run("database", state="PENDING")

        async def as_the_client_reads_it(stack_id: str, *, before: str | None = None) -> list[Run]:
            del before
            runs = sorted(spacelift.runs_of(stack_id), key=lambda r: r.created_at, reverse=True)
            where = {"operation": "list_runs", "stack_id": stack_id}
            return parse_list(Run, [_payload(run) for run in runs], path="stack.runs", **where)

        spacelift.list_runs = as_the_client_reads_it  # type: ignore[method-assign]
        chain = temporal_client.get_workflow_handle(workflows.root_chain_id("database", root.id))

        await eventually(lambda: workflow_exists(chain), 10)


async def test_a_repeated_request_after_its_trigger_failed_makes_a_second_run(
    engine: Engine,
) -> None:
    """Exactly one run per stack per attempt.

    A chain asks for ``database``; the trigger fails for good (after Spacelift made the run:
    the lane finds and stops it). The chain's ``request_runs`` activity delivers its request
    again (an activity retry re-sends every lane's signal when one of them failed). The lane
    remembers served keys, not failed ones: the repeat is queued and triggers a second run for
    the same, already failed, attempt (which is then stopped as unwanted).
    """
    spacelift = engine.spacelift
    spacelift.outcomes["database"] = ["HANG", "HANG"]
    spacelift.refuse_after_commit.add("database")
    handle = await engine.start(graph_input("network", GRAPH))
    result = await asyncio.wait_for(handle.result(), 15)
    assert result["status"] == "failed"
    (lost,) = spacelift.runs_of("database")
    await asyncio.wait_for(lost.done.wait(), 10)

    repeat = RunRequest(handle.id, f"{handle.id}/database/1", datetime.now(UTC))
    await engine.request("database", repeat)
    lane = engine.client.get_workflow_handle(lane_id(engine.task_queue, "database"))
    await eventually(lambda: _last_signal_handled(lane))

    assert await _triggers_after_last_signal(lane) == 0
    assert len(spacelift.runs_of("database")) == 1


async def _last_signal_handled(lane: WorkflowHandle[Any, Any]) -> bool:
    """Whether a workflow task completed after the lane's last signal."""
    events = (await lane.fetch_history()).events
    kinds = [event.event_type for event in events]
    last = max(i for i, kind in enumerate(kinds) if kind == SIGNALED)
    return any(kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for kind in kinds[last:])


async def _triggers_after_last_signal(lane: WorkflowHandle[Any, Any]) -> int:
    events = (await lane.fetch_history()).events
    last = max(i for i, event in enumerate(events) if event.event_type == SIGNALED)
    return sum(
        event.activity_task_scheduled_event_attributes.activity_type.name == "trigger_run"
        for event in events[last:]
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )


SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
