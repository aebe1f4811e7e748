"""A fifth review of the engine (two reviewers): promises it still broke after
lane-knows-its-runs (1fc0057).

Each test is deterministic against the real Temporal dev server and the in-process fake
Spacelift, and fails on the engine at 1fc0057. Each docstring tells how it broke.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle

from spacelift import Run, RunState, TransientError
from temporal import client as workflows
from tests.integration.conftest import (
    Engine,
    EngineFactory,
    engine_with,
    eventually,
    graph_input,
    reconciling_engine,
    workflow_exists,
)
from tests.integration.fake_spacelift import IDENTITY
from tests.integration.lane_probes import (
    after,
    idle,
    lane_handle,
    no_pending_activity,
    scheduled,
    scheduled_at_least,
)

GRAPH = {"database": ["network"]}


def _chain_of(engine: Engine, stack_id: str, run_id: str) -> WorkflowHandle[Any, Any]:
    return engine.client.get_workflow_handle(workflows.root_chain_id(stack_id, run_id))


async def _activity_done(handle: WorkflowHandle[Any, Any], activity: str) -> bool:
    return await scheduled(handle, activity) > 0 and await no_pending_activity(handle)


async def test_a_request_made_while_a_single_try_trigger_was_answered_slowly_gets_a_newer_run(
    engine: Engine,
) -> None:
    """A stack's run is shared only by chains whose upstream finished before it started.

    The fix of test_review_attack_3.py's shared-run test covers a *retried* trigger only. With
    one try, ``_can_share`` still trusts Spacelift's ``createdAt`` for a request made between
    the trigger's start and its answer, although the engine itself allows Spacelift's clock to
    be ``CLOCK_SKEW`` (two minutes) off. Spacelift's clock is 3 s ahead; runTrigger commits the
    run and its answer is slow; meanwhile chain B's upstream finishes and B asks for ``x``. The
    run was made before B asked, yet its ``createdAt`` (3 s ahead) is "after": B shares it and
    misses its upstream's change.
    """
    spacelift = engine.spacelift
    spacelift.clock_skew = 3.0
    answer = asyncio.Event()
    trigger = spacelift.trigger_run
    slow: list[str] = []

    async def slow_answer(stack_id: str, *, commit_sha: str | None = None) -> Run:
        run = await trigger(stack_id, commit_sha=commit_sha)
        if stack_id == "x" and not slow:
            slow.append(run.id)
            await answer.wait()  # committed; the answer is on its way
        return run

    spacelift.trigger_run = slow_answer  # type: ignore[method-assign]
    a = await engine.start(graph_input("root", {"x": ["root"]}))
    made = await asyncio.wait_for(spacelift.wait_for_run("x"), 15)
    b = await engine.start(graph_input("other", {"x": ["other"]}))  # asks after `made` exists
    await eventually(lambda: _activity_done(b, "request_runs"))
    answer.set()
    first, second = await asyncio.wait_for(asyncio.gather(a.result(), b.result()), 20)

    assert first["stacks"]["x"]["run_id"] == made.id
    assert second["stacks"]["x"]["run_id"] != made.id


async def test_a_trigger_that_commits_after_the_late_commit_polls_is_stopped(
    temporal_client: Client,
) -> None:
    """Exactly one run per stack per attempt, also when a trigger call times out after
    Spacelift accepted it; runs are stackchain's or not, never confused.

    The first try of runTrigger times out on the client while Spacelift is still working on
    the request; the retry makes the run that serves the chain. The lane searches the call's
    window again for ``LATE_COMMIT_POLLS`` poll intervals after the call and then forgets it
    (with a 0.3 s poll interval: 0.6 s). Spacelift commits the first request a little later
    (a client time-out says nothing of when the server commits). That run is stackchain's
    (``triggeredBy`` is its identity), unknown to the lane: ``_is_root`` drops its webhooks as
    "stackchain's run, forgotten by now", no search covers it any more, and it is never
    stopped: a second run of the stack for one attempt, left to apply (here it hangs in
    PLANNING so the test can see it is never stopped).
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

        async def stopped() -> bool:
            return committed_late.state in {"STOPPED", "CANCELED"}

        await eventually(stopped, 10)


async def test_a_long_waiting_root_read_back_before_spacelift_shows_it_finished_starts_its_chain(
    temporal_client: Client,
) -> None:
    """A lost root webhook never loses a chain; only a root that *finished* longer ago than
    the age limit is refused.

    A person's run waited in UNCONFIRMED for longer than ``STACKCHAIN_EVENT_MAX_AGE`` (here
    8 s; 6 h by default: confirmed the next morning), then was confirmed and FINISHED just now.
    Its webhook is fresh. The read-back in ``start_chain`` still sees it APPLYING (a replica a
    moment behind the webhook). ``_not_over_yet`` judges freshness by ``created_at``, not by
    when the run last moved, so it does not ask again; ``_not_a_root`` says "not FINISHED" and
    the activity returns None, a success: the lane keeps the run in ``_roots``, the reconciler's
    ``unseen_runs`` hides it from every later round, and its chain never starts.
    """
    max_age = timedelta(seconds=8)
    async with reconciling_engine(
        temporal_client, root_stacks=["database"], event_max_age=max_age
    ) as engine:
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        spacelift = engine.spacelift
        root = spacelift.person_run("database", "UNCONFIRMED", age=20)
        root.history[-1] = ("UNCONFIRMED", 4, root.created_at.timestamp())
        root.history.append(("FINISHED", 5, spacelift.now().timestamp()))  # confirmed just now
        root.state = root.outcome = "FINISHED"
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

        await eventually(lambda: workflow_exists(_chain_of(engine, "database", root.id)), 6)


async def test_a_retried_trigger_never_adopts_a_run_made_before_it_began(
    temporal_client: Client,
) -> None:
    """Runs are stackchain's or not, never confused; a chain shares a run only when it started
    after its upstream finished.

    As in the test above, chain A's first runTrigger try times out and Spacelift commits it
    (run L) after the lane stopped searching that call's window: L is stackchain's, unknown to
    the lane, and FINISHES unstopped. Then chain B's upstream finishes and B asks for the stack.
    The lane's trigger commits run N but its answer is lost; the retry lists the runs made since
    the call began *less CLOCK_SKEW* (two minutes), finds L and N (both stackchain's, unknown),
    and adopts the oldest: L, made before B asked. B's stack "succeeds" with a run that applied
    before its upstream's change, and N, the run made for B, is stopped as a lost try's.
    """
    async with engine_with(temporal_client, identity=IDENTITY) as engine:
        spacelift = engine.spacelift
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
        first = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        assert first["status"] == "succeeded"
        lane = lane_handle(engine, "database")
        await eventually(lambda: scheduled_at_least(lane, "find_lost_runs", 1))
        await eventually(lambda: idle(lane))  # the lane has stopped looking at the window

        commit.set()  # Spacelift now makes the run the first try asked for
        committed_late = await asyncio.wait_for(spacelift.wait_for_run("database", 1), 15)
        await asyncio.wait_for(committed_late.done.wait(), 15)
        assert committed_late.state == "FINISHED"

        spacelift.lose_trigger_answer.add("database")  # B's trigger commits; the answer is lost
        second = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        made_for_b = spacelift.runs_of("database")[2]
        assert second["stacks"]["database"]["run_id"] != committed_late.id
        assert second["stacks"]["database"]["run_id"] == made_for_b.id


async def test_a_late_commit_inside_the_late_commit_polls_with_spacelift_ahead_is_stopped(
    engine_factory: EngineFactory,
) -> None:
    """Exactly one run per stack per attempt, also when a trigger call times out after
    Spacelift accepted it.

    The engine allows Spacelift's clock to be up to ``CLOCK_SKEW`` (two minutes) off
    Temporal's, and a timed-out try to commit up to ``LATE_COMMIT_POLLS`` poll intervals after
    the call ended (the lane searches the call's window again that long). But the search keeps
    only runs created within ``[started - CLOCK_SKEW, ended + CLOCK_SKEW]``: the late-commit
    allowance is not added to the window. Spacelift's clock is 119 s ahead (inside the skew
    the engine allows); the first try of runTrigger times out on the client, the retry makes
    the run that serves the chain, and Spacelift commits the first request 1.5 s after the
    call ended (inside the 4 s the lane keeps looking, at a 2 s poll interval). Its
    ``createdAt`` is ``ended + 120.5 s``: every search skips it, ``_is_root`` drops its
    webhooks as stackchain's, and it is never stopped (it hangs in PLANNING here; in
    Spacelift it would plan and apply a second time).
    """
    async with engine_factory(poll_interval=timedelta(seconds=2)) as engine:
        spacelift = engine.spacelift
        spacelift.clock_skew = 119.0
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
        await eventually(lambda: _activity_done(lane, "find_lost_runs"))  # the first look
        await asyncio.sleep(1.5)  # time passes: Spacelift is still working on the first try
        searches = await scheduled(lane, "find_lost_runs")
        commit.set()  # Spacelift now makes the run the first try asked for
        committed_late = await asyncio.wait_for(spacelift.wait_for_run("database", 1), 15)

        async def searched_again() -> bool:
            return await scheduled(lane, "find_lost_runs") > searches

        await eventually(searched_again, 10)  # the lane still looks at the window after it

        async def stopped() -> bool:
            return committed_late.state in {"STOPPED", "CANCELED"}

        await eventually(stopped, 10)
