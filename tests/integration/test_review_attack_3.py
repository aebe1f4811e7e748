"""A fourth review of the engine: promises it still broke after test_review_bugs.py,
test_review_attack.py and test_review_attack_2.py.

Each test is deterministic against the real Temporal dev server and the in-process fake
Spacelift, and fails on the engine at 484afdb. Each docstring tells how it broke.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from spacelift import Run, RunState, TransientError
from temporal import client as workflows
from tests.integration.conftest import (
    Engine,
    engine_with,
    eventually,
    graph_input,
    reconciling_engine,
    workflow_exists,
)
from tests.integration.lane_probes import after, lane_handle, no_pending_activity, scheduled

GRAPH = {"database": ["network"]}
POLL = timedelta(milliseconds=300)


def _chain_of(engine: Engine, stack_id: str, run_id: str) -> WorkflowHandle[Any, Any]:
    return engine.client.get_workflow_handle(workflows.root_chain_id(stack_id, run_id))


async def _last_signal_handled(handle: WorkflowHandle[Any, Any]) -> bool:
    events = (await handle.fetch_history()).events
    kinds = [event.event_type for event in events]
    last = max(i for i, kind in enumerate(kinds) if kind == SIGNALED)
    return any(kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for kind in kinds[last:])


async def _activity_done(handle: WorkflowHandle[Any, Any], activity: str) -> bool:
    return await scheduled(handle, activity) > 0 and await no_pending_activity(handle)


SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


async def test_with_a_token_a_root_made_long_before_a_lost_trigger_is_not_held(
    temporal_client: Client,
) -> None:
    """A real root starts its chain (a lost root webhook never loses a chain).

    With ``SPACELIFT_API_TOKEN`` the identity is unknown until a runTrigger answers. The
    lane's first trigger fails for good after Spacelift made the run, so the lane holds every
    unknown FINISHED run until it has searched for that run; the search needs the identity
    and fails (IdentityUnknown) every poll interval, for as long as no other trigger of the
    stack answers. A person's run (made ten minutes before the lost trigger, so it cannot be
    its run) finishes: it is held, ``unseen_runs`` hides it from the reconciler, and past the
    event age limit ``start_chain`` would refuse it as stale. Its chain never starts.
    """
    async with engine_with(temporal_client, identity=None) as engine:
        spacelift = engine.spacelift
        spacelift.outcomes["database"] = ["HANG"]
        spacelift.refuse_after_commit.add("database")
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        failed = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        assert failed["status"] == "failed"

        root = spacelift.person_run("database", age=600)
        await engine.deliver(spacelift.event(root))

        await eventually(lambda: workflow_exists(_chain_of(engine, "database", root.id)), 15)


async def test_with_a_token_a_root_made_during_a_lost_trigger_is_held_for_a_bounded_time(
    temporal_client: Client,
) -> None:
    """A lost root webhook never loses a chain, even when nobody can tell whose run it is.

    As above, but the person's run is made inside the lost trigger's window, so it may be the
    lane's own: it is held while the lane cannot search (identity unknown), and taken for a
    root once it has waited half the event age limit, before ``start_chain`` would refuse it.
    """
    max_age = timedelta(seconds=6)
    async with engine_with(temporal_client, identity=None, event_max_age=max_age) as engine:
        spacelift = engine.spacelift
        spacelift.outcomes["database"] = ["HANG"]
        spacelift.refuse_after_commit.add("database")
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        failed = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        assert failed["status"] == "failed"

        root = spacelift.person_run("database")
        await engine.deliver(spacelift.event(root))
        lane = lane_handle(engine, "database")
        await eventually(lambda: _last_signal_handled(lane))
        assert await lane.query("unseen_runs", [root.id]) == []  # known, and held
        assert await scheduled(lane, "start_chain") == 0

        await eventually(lambda: workflow_exists(_chain_of(engine, "database", root.id)), 15)


async def test_with_a_token_a_late_webhook_of_stackchains_own_run_starts_no_chain(
    temporal_client: Client,
) -> None:
    """Only real roots start chains; a run stackchain created is never taken for a root.

    The fix of test_review_attack.py's last test (``start_chain`` reads back who triggered the
    run) works only with an API key: with a token, ``LaneActivities._identity`` is None and the
    lane's learnt identity is never passed on, nor does the lane's ``_is_root`` compare the
    event's ``triggered_by`` with it. Spacelift's clock is 3 s ahead; once the lane has
    forgotten its own run (an age limit after it last heard of it, by Temporal's clock), a
    redelivery of that run's FINISHED webhook is still fresh by the event's own time, and
    starts a chain from stackchain's own run.
    """
    max_age = timedelta(seconds=4)
    async with engine_with(temporal_client, identity=None, event_max_age=max_age) as engine:
        spacelift = engine.spacelift
        spacelift.clock_skew = 3.0
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        first = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        (ours,) = spacelift.runs_of("database")
        assert first["stacks"]["database"]["run_id"] == ours.id
        await asyncio.sleep(max_age.total_seconds() + 0.3)  # time passes: the lane may forget
        second = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        assert second["status"] == "succeeded"

        await engine.deliver(spacelift.event(ours))  # Spacelift delivers the webhook again
        lane = lane_handle(engine, "database")
        await eventually(lambda: _last_signal_handled(lane))
        await eventually(lambda: no_pending_activity(lane))

        assert [req.run_id for req in engine.planned] == []
        assert not await workflow_exists(_chain_of(engine, "database", ours.id))


async def test_a_trigger_that_commits_after_its_call_timed_out_is_stopped(
    engine: Engine,
) -> None:
    """Exactly one run per stack per attempt, also when a trigger call times out after
    Spacelift accepted it.

    The first try of runTrigger times out on the client (``TransientError``) while Spacelift
    is still working on the request. Temporal retries the activity: it lists the stack's runs,
    finds none of stackchain's yet, and triggers a second run, which serves the chain. Then
    Spacelift commits the first request. With the identity known the lane never searches for
    lost runs (only ``_lost`` triggers are searched for, and a retry that made a new run is no
    lost trigger), so that run is the lane's, unknown, and never stopped: it goes on to plan
    and apply (here it hangs in PLANNING, so the test can see it is never stopped).
    """
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
    handle = await engine.start(graph_input("network", GRAPH))
    retried = await asyncio.wait_for(spacelift.wait_for_run("database"), 15)
    commit.set()  # Spacelift now makes the run the first try asked for
    committed_late = await asyncio.wait_for(spacelift.wait_for_run("database", 1), 15)
    result = await asyncio.wait_for(handle.result(), 15)
    assert result["stacks"]["database"]["run_id"] == retried.id

    async def stopped() -> bool:
        return committed_late.state in {"STOPPED", "CANCELED"}

    await eventually(stopped, 10)


async def test_a_request_made_while_a_trigger_was_retried_gets_a_newer_run(engine: Engine) -> None:
    """A stack's run is shared only by chains whose upstream finished before it started.

    ``_can_share`` trusts Spacelift's ``createdAt`` for a request made between the start of
    the trigger and its answer. That window spans Temporal's retries of the trigger call: the
    first try's answer is lost (the run exists), and before the retry adopts it, chain B asks
    for the stack. Spacelift's clock is 3 s ahead, so the adopted run "was created after" B
    asked and B is handed a run made before its upstream finished (it misses the change).
    """
    spacelift = engine.spacelift
    spacelift.clock_skew = 3.0
    spacelift.lose_trigger_answer.add("x")
    listing = asyncio.Event()
    list_runs = spacelift.list_runs

    async def held_listing(stack_id: str, *, before: str | None = None) -> list[Run]:
        await listing.wait()  # the retry's look for the lost answer's run waits for the test
        return await list_runs(stack_id, before=before)

    spacelift.list_runs = held_listing  # type: ignore[method-assign]
    a = await engine.start(graph_input("root", {"x": ["root"]}))
    made = await asyncio.wait_for(spacelift.wait_for_run("x"), 15)
    b = await engine.start(graph_input("other", {"x": ["other"]}))  # asks after `made` exists
    await eventually(lambda: _activity_done(b, "request_runs"))
    listing.set()
    first, second = await asyncio.wait_for(asyncio.gather(a.result(), b.result()), 20)

    assert first["stacks"]["x"]["run_id"] == made.id
    assert second["stacks"]["x"]["run_id"] != made.id


async def test_a_root_read_back_before_spacelift_shows_it_finished_starts_its_chain(
    temporal_client: Client,
) -> None:
    """A lost root webhook never loses a chain (and a root that arrived, even less).

    A person's run FINISHED and its webhook came; the readback in ``start_chain`` still sees
    it APPLYING (an API replica a moment behind the webhook). ``start_chain`` returns None (no
    root), which is a success: the lane keeps the run in ``_roots``, so ``unseen_runs`` hides
    it from every later reconcile round, and its chain never starts.
    """
    async with reconciling_engine(temporal_client, root_stacks=["database"]) as engine:
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        spacelift = engine.spacelift
        root = spacelift.person_run("database")
        get_run = spacelift.get_run
        lagging = [root.id]

        async def behind_once(stack_id: str, run_id: str) -> Run:
            run = await get_run(stack_id, run_id)
            if run_id in lagging:
                lagging.remove(run_id)
                return run.model_copy(update={"state": RunState.APPLYING, "finished": False})
            return run

        spacelift.get_run = behind_once  # type: ignore[method-assign]
        await engine.deliver(spacelift.event(root))
        lane = lane_handle(engine, "database")
        await eventually(lambda: _activity_done(lane, "start_chain"))
        assert not lagging  # the readback lagged once; Spacelift answers truly from now on

        await eventually(lambda: workflow_exists(_chain_of(engine, "database", root.id)), 10)
