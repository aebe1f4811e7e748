"""One small, deterministic test per way the engine review broke a promise (issue 12).

Each names its bug by number; each failed on the engine before the fix (356d629).
"""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateStage

from temporal import client as workflows
from temporal.inputs import (
    Confirm,
    RunEvent,
    RunRequest,
    RunUpdate,
    StackPolicy,
    Trigger,
    lane_id,
)
from temporal.workflows import chain, lane
from temporal.workflows.chain import DependencyChainWorkflow
from tests.integration.conftest import (
    Engine,
    EngineFactory,
    eventually,
    graph_input,
    reconciling_engine,
    stack_state,
    workflow_exists,
)
from tests.integration.fake_spacelift import FakeRun
from tests.integration.lane_probes import no_pending_activity

GRAPH = {"database": ["network"]}
ONE_RETRY = StackPolicy(retries=1, retry_backoff_seconds=0.001)
POLL = timedelta(milliseconds=300)


@pytest.fixture
def lanes_roll_over_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lanes continue as new on every pass of their loop (the engine's module constant)."""
    monkeypatch.setattr(lane, "CONTINUE_AS_NEW_AFTER_EVENTS", 1)


async def _failed_tasks(handle: WorkflowHandle[Any, Any]) -> int:
    events = (await handle.fetch_history()).events
    return sum(event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for event in events)


async def _ended(run: FakeRun, within: float = 20.0) -> str:
    await asyncio.wait_for(run.done.wait(), within)
    return run.state


async def test_1_a_due_retry_with_every_slot_taken_does_not_spin(engine: Engine) -> None:
    """Bug 1: a retry comes due while the one slot waits on a confirmation: the chain sets no
    timer in the past, so it still answers approve, and no workflow task fails."""
    engine.spacelift.outcomes = {"a": ["FAILED", "FINISHED"], "b": ["UNCONFIRMED"]}
    graph = {"a": ["root"], "b": ["root"]}
    handle = await engine.start(
        graph_input("root", graph, policies={"a": ONE_RETRY}, max_parallel=1)
    )
    await eventually(lambda: _is(handle, "b", "awaiting_confirmation"))

    await asyncio.wait_for(handle.execute_update("approve", {"stack_id": "b"}), 10)
    result = await asyncio.wait_for(handle.result(), 20)

    assert result["status"] == "succeeded"
    assert result["stacks"]["a"]["attempts"] == 2
    assert await _failed_tasks(handle) == 0


async def test_2_a_stopped_run_whose_stopped_webhook_was_lost_strands_nothing(
    engine_factory: EngineFactory,
) -> None:
    """Bug 2: a canceled chain's run is stopped and its STOPPED webhook lost; the lane asks
    Spacelift until the run is over, so the next chain on that stack gets a run."""
    async with engine_factory(poll_interval=POLL) as engine:
        engine.spacelift.outcomes["database"] = ["HANG", "FINISHED"]
        engine.spacelift.drop_events = lambda event: event.state == "STOPPED"
        first = await engine.start(graph_input("network", GRAPH))
        stuck = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
        await engine.spacelift.wait_for_state(stuck, "PLANNING")
        await first.signal("cancel")
        assert (await asyncio.wait_for(first.result(), 15))["status"] == "canceled"

        second = await engine.run(graph_input("network", GRAPH, run_timeout_seconds=10))

    assert stuck.state == "STOPPED"
    assert second["status"] == "succeeded"
    assert second["stacks"]["database"]["run_id"] != stuck.id


async def test_3_a_root_after_a_lost_trigger_is_held_then_started(engine: Engine) -> None:
    """Bug 3: after a trigger failed for good, a person's FINISHED run is not dropped: once the
    lane has found (and stopped) the lost trigger's run, the root starts its chain."""
    engine.spacelift.refuse_after_commit.add("database")
    engine.spacelift.outcomes["database"] = ["HANG"]
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    failed = await engine.run(graph_input("network", GRAPH))
    assert failed["status"] == "failed"

    root = engine.spacelift.person_run("database")
    await engine.deliver(engine.spacelift.event(root))
    chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", root.id))
    await eventually(lambda: workflow_exists(chain))

    (lost,) = [run for run in engine.spacelift.runs_of("database") if run is not root]
    assert await _ended(lost) == "STOPPED"
    assert (await asyncio.wait_for(chain.result(), 15))["status"] == "succeeded"


async def test_3_the_next_trigger_after_a_lost_one_adopts_no_stale_run(engine: Engine) -> None:
    """Bug 3: a person's finished run made after a trigger failed for good is never adopted
    by the next trigger: the next chain gets a run of its own."""
    engine.spacelift.refuse_after_commit.add("database")
    engine.spacelift.outcomes["database"] = ["HANG", "FINISHED"]
    failed = await engine.run(graph_input("network", GRAPH))
    assert failed["status"] == "failed"
    person = engine.spacelift.person_run("database")

    result = await engine.run(graph_input("network", GRAPH))

    ours = [run.id for run in engine.spacelift.runs_of("database") if run is not person]
    assert result["stacks"]["database"]["run_id"] == ours[-1]


@pytest.mark.usefixtures("lanes_roll_over_often")
async def test_4_a_lost_trigger_is_remembered_across_continue_as_new(
    engine_factory: EngineFactory,
) -> None:
    """Bug 4: the lane continues as new right after a trigger failed for good; the run that
    trigger made is still found and stopped, and never taken for a root."""
    async with engine_factory(poll_interval=POLL) as engine:
        engine.spacelift.refuse_after_commit.add("database")
        engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        failed = await engine.run(graph_input("network", GRAPH))
        (lost,) = engine.spacelift.runs_of("database")

        assert await _ended(lost) == "DISCARDED"
    assert failed["status"] == "failed"
    assert engine.planned == []


async def test_5_a_persons_run_in_the_same_second_is_not_adopted(engine: Engine) -> None:
    """Bug 5: a trigger's answer is lost; a person made a run of the stack in the same second.
    The retry adopts the run stackchain made, by who triggered it, not the person's."""
    person = engine.spacelift.person_run("database", state="PLANNING")
    engine.spacelift.lose_trigger_answer.add("database")

    result = await engine.run(graph_input("network", GRAPH))

    (ours,) = [run for run in engine.spacelift.runs_of("database") if run is not person]
    assert result["stacks"]["database"]["run_id"] == ours.id
    assert result["status"] == "succeeded"


@pytest.mark.usefixtures("lanes_roll_over_often")
async def test_7_a_lane_rolls_over_while_a_roots_chain_cannot_start(engine: Engine) -> None:
    """Bug 7: continue-as-new does not wait for a root's chain that cannot start yet (broken
    file): the lane goes on serving, and the root's chain starts once the file is fixed."""
    engine.broken_file = "config/stacks.yaml:3: stack 'app': depends_on 'dtabase' is not a stack"
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    root = engine.spacelift.person_run("database")
    await engine.deliver(engine.spacelift.event(root))
    other = await engine.run(graph_input("network", GRAPH))
    assert other["status"] == "succeeded"

    engine.broken_file = None
    chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", root.id))
    await eventually(lambda: workflow_exists(chain), within=60)  # start_chain backs off to 30 s
    assert (await asyncio.wait_for(chain.result(), 30))["status"] == "succeeded"


@pytest.mark.usefixtures("lanes_roll_over_often")
async def test_7_a_root_redelivered_after_its_chain_closed_is_done(engine: Engine) -> None:
    """Bug 7: a lane that lost its memory (terminated by hand) gets a root whose chain already
    ran; starting it is done, not retried for ever, and the lane goes on serving."""
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    root = engine.spacelift.person_run("database")
    await engine.deliver(engine.spacelift.event(root))
    chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", root.id))
    await eventually(lambda: workflow_exists(chain))
    await chain.result()
    await engine.client.get_workflow_handle(lane_id(engine.task_queue, "database")).terminate()

    await engine.deliver(engine.spacelift.event(root))
    other = await engine.run(graph_input("network", GRAPH))

    assert other["status"] == "succeeded"
    database = engine.client.get_workflow_handle(lane_id(engine.task_queue, "database"))
    await eventually(lambda: no_pending_activity(database))
    assert [req.run_id for req in engine.planned] == [root.id, root.id]  # planned, then done


async def test_8_a_run_is_stopped_with_the_call_that_fits_its_state(engine: Engine) -> None:
    """Bug 8: the lane's view says QUEUED (webhooks lost) while the run is planning; cancel
    stops it with runStop (read back), not a runCancel that Spacelift refuses."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    engine.spacelift.drop_events = lambda event: event.stack_id == "database"
    handle = await engine.start(graph_input("network", GRAPH))
    run = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
    await engine.spacelift.wait_for_state(run, "PLANNING")

    await handle.signal("cancel")

    assert (await asyncio.wait_for(handle.result(), 15))["status"] == "canceled"
    assert await _ended(run) == "STOPPED"


async def test_9_an_adopted_finished_run_carries_its_changes(engine: Engine) -> None:
    """Bug 9: the trigger's answer is lost and the run has FINISHED (with changes) by the
    time the retry adopts it; its on_change dependent runs."""
    engine.spacelift.lose_trigger_answer.add("database")
    engine.spacelift.finish_before_answer.add("database")
    graph = {"database": ["network"], "app": ["database"]}
    policies = {"app": StackPolicy(retries=0, trigger=Trigger.ON_CHANGE)}
    result = await engine.run(
        graph_input("network", graph, policies=policies, root_has_changes=False)
    )

    assert result["stacks"]["app"]["state"] == "succeeded"
    assert len(engine.spacelift.runs_of("database")) == 1


async def test_10_a_retried_upstream_that_changed_resources_once_counts(engine: Engine) -> None:
    """Bug 10: the upstream's first attempt changed resources and failed, its retry changed
    nothing; the on_change dependent still runs."""
    engine.spacelift.outcomes["database"] = ["FAILED", "FINISHED-UNCHANGED"]
    graph = {"database": ["network"], "app": ["database"]}
    policies = {"database": ONE_RETRY, "app": StackPolicy(trigger=Trigger.ON_CHANGE)}
    result = await engine.run(
        graph_input("network", graph, policies=policies, root_has_changes=False)
    )

    assert result["stacks"]["database"]["attempts"] == 2
    assert result["stacks"]["app"]["state"] == "succeeded"


async def test_a_confirmation_that_failed_for_good_is_sent_again(
    engine_factory: EngineFactory,
) -> None:
    """Suspected: the confirmation was marked sent before the call, so one that failed for
    good was never sent again. The lane asks again at its next poll."""
    async with engine_factory(poll_interval=POLL) as engine:
        engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
        engine.spacelift.refuse_confirms = 1
        policies = {"database": StackPolicy(retries=0, confirm=Confirm.AUTO)}
        result = await engine.run(
            graph_input("network", GRAPH, policies=policies, run_timeout_seconds=10)
        )

    assert result["status"] == "succeeded"


async def test_a_lost_answer_is_adopted_with_spacelifts_clock_behind(engine: Engine) -> None:
    """Suspected: Spacelift's clock 90 s behind Temporal's. A trigger's lost answer is still
    adopted by the retry: one run for the attempt, not two."""
    engine.spacelift.clock_skew = -90.0
    engine.spacelift.lose_trigger_answer.add("database")

    result = await engine.run(graph_input("network", GRAPH))

    (run,) = engine.spacelift.runs_of("database")
    assert result["stacks"]["database"]["run_id"] == run.id
    assert result["status"] == "succeeded"


async def test_a_stale_root_event_starts_nothing(engine: Engine) -> None:
    """A root event older than the event age limit (a replayed capture) starts no chain, and a
    fresh one delivered after it does."""
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    stale = engine.spacelift.person_run("database", age=7 * 3600)
    fresh = engine.spacelift.person_run("database")
    await engine.deliver(engine.spacelift.event(stale))
    await engine.deliver(engine.spacelift.event(fresh))

    chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", fresh.id))
    await eventually(lambda: workflow_exists(chain))
    await chain.result()
    assert [req.run_id for req in engine.planned] == [fresh.id]


async def test_a_forged_root_signal_starts_nothing(engine: Engine) -> None:
    """A run event sent to a lane for a run Spacelift does not have (a forged signal) starts
    no chain: the root is read back first."""
    engine.plans["database"] = graph_input("database", {"app": ["database"]})
    fake = RunEvent("database", "01FORGED", "FINISHED", created_at=datetime.now(UTC))
    real = engine.spacelift.person_run("database")
    await engine.deliver(fake)
    await engine.deliver(engine.spacelift.event(real))

    chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", real.id))
    await eventually(lambda: workflow_exists(chain))
    assert [req.run_id for req in engine.planned] == [real.id]
    forged_chain = engine.client.get_workflow_handle(
        workflows.root_chain_id("database", "01FORGED")
    )
    assert not await workflow_exists(forged_chain)


async def _is(handle: WorkflowHandle[Any, Any], stack_id: str, state: str) -> bool:
    return await workflow_exists(handle) and await stack_state(handle, stack_id) == state


async def test_a_root_whose_webhook_was_lost_is_found_by_the_reconciler(
    temporal_client: Client,
) -> None:
    """A person's run FINISHED and its webhook never came: the reconciler finds it in Spacelift
    and starts its chain, once; a stale one starts nothing."""
    async with reconciling_engine(temporal_client, root_stacks=["database"]) as engine:
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        lost = engine.spacelift.person_run("database")
        engine.spacelift.person_run("database", age=7 * 3600)
        chain = temporal_client.get_workflow_handle(workflows.root_chain_id("database", lost.id))
        await eventually(lambda: workflow_exists(chain))
        assert (await asyncio.wait_for(chain.result(), 15))["status"] == "succeeded"
        reconciler = temporal_client.get_workflow_handle(workflows.reconciler_id(engine.task_queue))
        await eventually(lambda: _reconciled_after(reconciler, rounds=3))

    assert [req.run_id for req in engine.planned] == [lost.id]


async def _reconciled_after(handle: WorkflowHandle[Any, Any], rounds: int) -> bool:
    events = (await handle.fetch_history()).events
    done = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    return sum(event.event_type == done for event in events) >= rounds


async def test_a_run_for_a_request_the_chain_no_longer_has_is_released(engine: Engine) -> None:
    """Found by the simulation (seed 45): a request reaches the lane after its chain stopped
    wanting it (here: an attempt the chain never made). The run it gets is told to the chain,
    which releases it, so it is discarded rather than left UNCONFIRMED for ever."""
    engine.spacelift.outcomes = {"a": ["HANG"], "b": ["UNCONFIRMED"]}
    handle = await engine.start(graph_input("root", {"a": ["root"]}))
    await eventually(lambda: _is(handle, "a", "running"))
    stale = RunRequest(chain_id=handle.id, key=f"{handle.id}/b/7", not_before=datetime.now(UTC))
    await engine.request("b", stale)

    run = await asyncio.wait_for(engine.spacelift.wait_for_run("b"), 15)
    assert await _ended(run) == "DISCARDED"
    await handle.signal("cancel")
    assert (await asyncio.wait_for(handle.result(), 15))["status"] == "canceled"


@pytest.fixture
def approvals_held() -> Iterator[list[bool]]:
    """The chain's approve handler waits, before it signals the lane, until the test lets it.

    The workflow module is passed through the workflow sandbox, so the patched method is the
    one the in-process worker runs. Set the flag, then send the chain any signal to wake it.
    """
    held = [True]
    tell_lane = DependencyChainWorkflow._tell_lane

    async def held_tell_lane(
        self: DependencyChainWorkflow, stack: str, signal: str, arg: Any
    ) -> None:
        if signal == "confirm_run":
            await workflow.wait_condition(lambda: not held[0])
        await tell_lane(self, stack, signal, arg)

    DependencyChainWorkflow._tell_lane = held_tell_lane  # type: ignore[method-assign,assignment]
    yield held
    DependencyChainWorkflow._tell_lane = tell_lane  # type: ignore[method-assign]


@pytest.fixture
def chains_roll_over_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chains continue as new whenever they have no news (the engine's module constant)."""
    monkeypatch.setattr(chain, "CONTINUE_AS_NEW_AFTER_EVENTS", 1)


@pytest.mark.usefixtures("chains_roll_over_often")
async def test_6_news_that_comes_while_the_chain_waits_to_roll_over_is_kept(
    engine_factory: EngineFactory, approvals_held: list[bool]
) -> None:
    """Bug 6: an approval is still being carried out when the chain would continue as new, and
    a run update arrives meanwhile (a's FINISHED, found by polling); the chain handles it
    before rolling over instead of dropping it (a would then time out)."""
    async with engine_factory(poll_interval=POLL) as engine:
        engine.spacelift.outcomes = {"a": ["UNCONFIRMED"], "b": ["UNCONFIRMED"]}
        engine.spacelift.drop_events = lambda e: e.stack_id == "a" and e.state == "FINISHED"
        graph = {"a": ["root"], "b": ["root"]}
        handle = await engine.start(graph_input("root", graph, run_timeout_seconds=15))
        await eventually(lambda: _is(handle, "a", "awaiting_confirmation"))
        await eventually(lambda: _is(handle, "b", "awaiting_confirmation"))
        await handle.start_update(
            "approve", {"stack_id": "b"}, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )

        (run_a,) = engine.spacelift.runs_of("a")
        await engine.spacelift.confirm_run("a", run_a.id)  # APPLYING wakes the chain, which waits
        await eventually(lambda: _signalled(handle, "a", "FINISHED"))  # ... and FINISHED comes
        approvals_held[0] = False
        await handle.signal("run_update", RunUpdate("nudge", "none", None, "FINISHED"))
        result = await asyncio.wait_for(handle.result(), 30)

    assert result["stacks"]["a"]["state"] == "succeeded", result["stacks"]["a"]
    assert result["status"] == "succeeded"


async def _signalled(handle: WorkflowHandle[Any, Any], stack_id: str, state: str) -> bool:
    """Whether the chain has been sent a run update of ``stack_id`` in ``state``."""
    for event in (await handle.fetch_history()).events:
        attributes = event.workflow_execution_signaled_event_attributes
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            continue
        for payload in attributes.input.payloads:
            update = json.loads(payload.data)
            if update.get("stack_id") == stack_id and update.get("state") == state:
                return True
    return False


async def test_a_late_request_is_not_served_a_run_the_lane_is_stopping(
    engine_factory: EngineFactory,
) -> None:
    """Suspected: a request that reaches the lane late (made before the lane's current run was
    triggered) while the lane is stopping that run is not handed the stopped run: it queues,
    and gets a run of its own once the stopped one is over."""
    async with engine_factory(poll_interval=POLL) as engine:
        engine.spacelift.outcomes["database"] = ["HANG", "HANG"]
        engine.spacelift.drop_events = lambda event: event.state == "STOPPED"
        first = await engine.start(graph_input("network", GRAPH))
        stopped = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
        await engine.spacelift.wait_for_state(stopped, "PLANNING")
        await first.signal("cancel")
        await asyncio.wait_for(first.result(), 15)
        late = RunRequest(first.id, f"{first.id}/database/9", datetime(2020, 1, 1, tzinfo=UTC))
        await engine.request("database", late)

        second = await asyncio.wait_for(engine.spacelift.wait_for_run("database", 1), 15)

    assert stopped.state == "STOPPED"
    assert second.id != stopped.id
