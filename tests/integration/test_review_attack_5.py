"""A sixth review of the engine: promises it still broke after ae4c7cc (lost-trigger windows
remembered for the event age limit, adoption of the newest candidate, requests made while a
trigger is in flight queued).

Each test is deterministic against the real Temporal dev server and the in-process fake
Spacelift, and fails on the engine at ae4c7cc. Each docstring tells how it broke.

Where it matters, the fake's events reach the lane the way Spacelift's webhooks reach it in
production: as the default-shape JSON body Spacelift sends, parsed by the webhook server's own
``parse_event``: the fake sends every event that way (when the review was written its sink
handed lanes ``RunEvent``s built from the API's answer, with fields a webhook never carries).

The review's fourth test (Spacelift's clock 150 s behind, beyond ``CLOCK_SKEW``) is left out
until it is decided whether the engine should stop relying on timestamps there.
"""

import asyncio
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from spacelift import Run, TransientError
from temporal import client as workflows
from tests.integration.conftest import (
    Engine,
    engine_with,
    eventually,
    graph_input,
    workflow_exists,
)
from tests.integration.fake_spacelift import IDENTITY
from tests.integration.lane_probes import (
    after,
    idle,
    lane_handle,
    no_pending_activity,
    scheduled_at_least,
)

GRAPH = {"database": ["network"]}


async def test_a_late_committed_lost_try_is_stopped_when_its_events_come_as_real_webhooks(
    temporal_client: Client,
) -> None:
    """Exactly one run per stack per attempt, also when a trigger call times out after
    Spacelift accepted it; "the run it may have created is found and stopped, not left to
    apply".

    test_review_attack_4.py's ``test_a_trigger_that_commits_after_the_late_commit_polls_is_
    stopped`` passes only because the fake hands the lane ``RunEvent``s with ``triggered_by``
    filled in from the API. The webhook server never fills it in: ``EventRun``
    (app/web/webhooks/models.py) has no ``triggeredBy`` field and ``to_delivery``
    (app/web/webhooks/events.py) builds the ``RunEvent`` without it, although Spacelift's body
    carries ``run.triggeredBy``. So in production ``_is_late_lost_run`` (lane.py, the
    ``event.triggered_by != self._identity`` test) is never true for a webhook, and neither is
    ``_is_root``'s "stackchain's run" test: the late-committed try's run is unknown, no search
    covers its settled window any more, and it is never stopped (it hangs in PLANNING here; in
    Spacelift it would plan and apply a second time). Same scenario as that test, with the
    fake's events sent through ``parse_event``.
    """
    async with engine_with(temporal_client, identity=IDENTITY) as engine:
        spacelift = engine.spacelift
        spacelift.outcomes["database"] = ["FINISHED", "HANG"]
        trigger = spacelift.trigger_run
        commit = asyncio.Event()
        late: list[asyncio.Task[Run]] = []

        async def timing_out_first(stack_id: str, *, commit_sha: str | None = None) -> Run:
            if stack_id == "database" and not late:
                late.append(asyncio.create_task(after(commit, trigger(stack_id))))
                msg = "timed out waiting for Spacelift"
                raise TransientError(msg, operation="runTrigger", stack_id=stack_id)
            return await trigger(stack_id, commit_sha=commit_sha)

        spacelift.trigger_run = timing_out_first  # type: ignore[method-assign]
        result = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        (retried,) = spacelift.runs_of("database")
        assert result["stacks"]["database"]["run_id"] == retried.id
        lane = lane_handle(engine, "database")
        await eventually(lambda: scheduled_at_least(lane, "find_lost_runs", 1))
        await eventually(lambda: idle(lane))  # the lane has stopped looking at the window

        commit.set()  # Spacelift now makes the run the first try asked for
        committed_late = await asyncio.wait_for(spacelift.wait_for_run("database", 1), 15)
        await spacelift.wait_for_state(committed_late, "PLANNING")  # its webhooks went out

        async def stopped() -> bool:
            return committed_late.state in {"STOPPED", "CANCELED"}

        await eventually(stopped, 10)


async def _signaled(handle: WorkflowHandle[Any, Any], signal: str) -> int:
    events = (await handle.fetch_history()).events
    return sum(
        event.workflow_execution_signaled_event_attributes.signal_name == signal
        for event in events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )


async def test_a_chain_canceled_while_its_lane_looks_for_a_lost_run_gets_no_run(
    engine: Engine,
) -> None:
    """``cancel``: "runs not yet started are not started".

    A trigger of ``database`` failed for good after Spacelift made the run (the lane finds and
    stops it, and keeps the call's window in ``_lost`` for ``LATE_COMMIT_POLLS`` poll
    intervals). Chain B then asks for ``database``: the lane queues the request and
    ``_trigger`` (lane.py) first searches the window (``_search_lost_runs``, a Spacelift list
    that may take long, retried for minutes while Spacelift is slow). Meanwhile the operator
    cancels B, whose release reaches the lane's inbox and waits there: ``_trigger`` goes on
    from the search straight to ``runTrigger`` with the queue it had before the search, so
    stackchain makes a run for a chain that was canceled before the call (the release, handled
    after, then stops it: a run that applies nothing, but a run that should never have been
    made; with ``confirm``/auto-deploy policies or a slow cancel in Spacelift it may even plan).
    """
    spacelift = engine.spacelift
    spacelift.outcomes["database"] = ["HANG", "HANG"]
    spacelift.refuse_after_commit.add("database")
    failed = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
    assert failed["status"] == "failed"
    (lost,) = spacelift.runs_of("database")
    await asyncio.wait_for(lost.done.wait(), 15)  # found and stopped by the lane
    lane = lane_handle(engine, "database")
    await eventually(lambda: no_pending_activity(lane))

    searching = asyncio.Event()
    answer = asyncio.Event()
    list_runs = spacelift.list_runs

    async def slow_listing(stack_id: str, *, before: str | None = None) -> list[Run]:
        if stack_id == "database":
            searching.set()
            await answer.wait()  # Spacelift is slow to list the runs
        return await list_runs(stack_id, before=before)

    spacelift.list_runs = slow_listing  # type: ignore[method-assign]
    b = await engine.start(graph_input("network", GRAPH))
    await asyncio.wait_for(searching.wait(), 15)  # the lane's trigger looks for the lost run
    await b.signal("cancel")
    canceled = await asyncio.wait_for(b.result(), 15)
    assert canceled["status"] == "canceled"
    await eventually(lambda: _scheduled_at_least_signal(lane, "release_run"))  # in the inbox

    answer.set()
    await eventually(lambda: _quiet(lane))  # the search answered and the lane did what it does

    assert [run.id for run in spacelift.runs_of("database")] == [lost.id]


async def _scheduled_at_least_signal(handle: WorkflowHandle[Any, Any], signal: str) -> bool:
    return await _signaled(handle, signal) >= 1


COMMANDS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_TIMER_CANCELED,
}


async def _quiet(handle: WorkflowHandle[Any, Any]) -> bool:
    """No activity in flight, and the lane's last workflow task has handled everything."""
    if not await no_pending_activity(handle):
        return False
    events = (await handle.fetch_history()).events
    trailing = [event.event_type for event in events]
    while trailing and trailing[-1] in COMMANDS - {EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED}:
        trailing.pop()
    return bool(trailing) and trailing[-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


async def test_a_finished_run_another_tool_made_with_the_same_api_key_starts_its_chain(
    engine: Engine,
) -> None:
    """A TRACKED run that FINISHED and that no chain triggered starts its chain; "which runs a
    chain triggered is known from stackchain's own record of the run ids it created, not
    guessed from ``triggeredBy``" (contract, and README "How a chain behaves").

    The lane triggered a run (its record holds that run id) and never lost a trigger answer:
    its record is complete, nothing is ambiguous. Then another tool that shares the Spacelift
    API key (a CI job, a script: Spacelift records ``api::<key id>`` for both) triggers a
    tracked run of ``database``; it FINISHED and its webhook comes. The lane never made it, yet
    no chain starts: ``_is_root`` (lane.py, the ``ours`` test) and the read-back's
    ``_not_a_root`` (activities.py, "stackchain triggered it") both decide by ``triggeredBy``
    alone, even where the lane's own record answers the question. (The README's advice to give
    stackchain a key of its own contradicts the contract's "not guessed from triggeredBy";
    ``triggeredBy`` could still break ties inside a lost trigger's window, or for runs older
    than the lane's memory, where the record cannot answer.)
    """
    spacelift = engine.spacelift
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    first = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
    (ours,) = spacelift.runs_of("database")
    assert first["stacks"]["database"]["run_id"] == ours.id

    root = spacelift.person_run("database")  # a CI job's run, made with stackchain's key
    root.triggered_by = IDENTITY
    await engine.deliver(spacelift.event(root))

    chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", root.id))
    await eventually(lambda: workflow_exists(chain), 10)
