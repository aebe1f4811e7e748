"""A seventh review of the engine (after 507ef5e, "lane goes by its record"): promises it breaks.

Each test is deterministic against the real Temporal dev server and the in-process fake
Spacelift. Each docstring tells how it breaks.

Both still break at the commit that added them: they are strict expected failures, tracked on
issue 12, until the read-back refuses a run with stackchain's identity that was made before the
lane's record began (the record cannot answer for it). A fix turns them into failures, and the
marker goes then.
"""

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from temporal import client as workflows
from temporal.worker import build_worker
from tests.integration.conftest import (
    RECONCILING_POLL,
    Engine,
    engine_with,
    eventually,
    graph_input,
    workflow_exists,
)
from tests.integration.fake_spacelift import IDENTITY
from tests.integration.lane_probes import lane_handle, no_pending_activity

GRAPH = {"database": ["network"]}


async def _handled_signals(handle: WorkflowHandle[Any, Any], n: int) -> bool:
    """The lane got ``n`` run_event signals, and its last workflow task completed after them."""
    events = (await handle.fetch_history()).events
    signals = [
        i
        for i, event in enumerate(events)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and event.workflow_execution_signaled_event_attributes.signal_name == "run_event"
    ]
    if len(signals) < n:
        return False
    return any(
        event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        for event in events[signals[-1] :]
    )


@pytest.mark.xfail(
    reason="issue 12: a run of stackchain's, made before the lane's record began, is a root",
    strict=True,
)
async def test_a_redelivered_webhook_of_our_own_run_starts_no_chain_once_the_lane_lost_its_record(
    temporal_client: Client,
) -> None:
    """ "A run stackchain created is never taken for a root" (contract, "Runs are stackchain's or
    not, never confused"; and "Only real roots start chains": the read-back checks "that
    stackchain did not create" the run).

    Since 507ef5e the lane's record is the only thing that tells stackchain's runs from roots:
    ``_is_root`` no longer refuses ``triggeredBy == identity``, and the read-back
    (``LaneActivities._not_a_root``) asks ``triggeredBy`` only about runs made inside the
    lost-trigger windows the lane hands it. When the lane's record is gone (the lane was
    terminated by hand, as test_review_bugs.py's ``test_7_a_root_redelivered_after_its_chain_
    closed_is_done`` already treats as a case to survive; or reset), a redelivery of the
    FINISHED webhook of a run stackchain itself triggered, fresh by its own time, reaches a new
    lane with an empty record and no windows: the read-back passes it (the API key says it is
    stackchain's, but nobody asks), and a second chain starts from stackchain's own run. At
    9173a6d the read-back refused it ("stackchain triggered it").
    """
    async with engine_with(temporal_client, identity=IDENTITY) as engine:
        spacelift = engine.spacelift
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        first = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        (ours,) = spacelift.runs_of("database")
        assert first["stacks"]["database"]["run_id"] == ours.id
        assert ours.triggered_by == IDENTITY

        await lane_handle(engine, "database").terminate()  # the lane's record is lost
        await engine.deliver(spacelift.event(ours))  # Spacelift delivers the webhook again
        lane = lane_handle(engine, "database")
        await eventually(lambda: _handled_signals(lane, 1))
        await eventually(lambda: no_pending_activity(lane))

        assert [req.run_id for req in engine.planned] == []
        chain = engine.client.get_workflow_handle(workflows.root_chain_id("database", ours.id))
        assert not await workflow_exists(chain)


@pytest.mark.xfail(
    reason="issue 12: a run of stackchain's, made before the lane's record began, is a root",
    strict=True,
)
async def test_a_fresh_temporal_store_takes_no_run_of_stackchains_for_a_root(
    temporal_client: Client,
) -> None:
    """ "A run stackchain created is never taken for a root"; "a lost root webhook never loses a
    chain" (the reconciler starts the chain of any FINISHED root run it has not seen).

    Stackchain ran a chain; then its Temporal store is lost or replaced (a new cluster, a new
    namespace, a new ``STACKCHAIN_TASK_QUEUE``: here a second engine on a new task queue
    against the same Spacelift account and API key). The reconciler lists the latest tracked
    FINISHED runs of the file's stacks and hands the lanes those they have not seen: the new
    lanes have seen nothing, so stackchain's own run of ``database`` is handed over, and since
    507ef5e the read-back no longer refuses a run its own API key triggered outside a lost
    trigger's window: a chain starts from stackchain's own run (its dependents apply again).
    At 9173a6d it was refused ("stackchain triggered it").
    """
    async with engine_with(temporal_client, identity=IDENTITY) as engine:
        spacelift = engine.spacelift
        engine.plans["database"] = graph_input("database", {"app": ["database"]})
        first = await asyncio.wait_for(engine.run(graph_input("network", GRAPH)), 20)
        (ours,) = spacelift.runs_of("database")
        assert first["stacks"]["database"]["run_id"] == ours.id

        fresh = Engine(
            temporal_client, spacelift, f"test-{uuid.uuid4().hex[:12]}", RECONCILING_POLL
        )
        fresh.plans["database"] = engine.plans["database"]
        worker = build_worker(
            temporal_client,
            task_queue=fresh.task_queue,
            spacelift=spacelift,
            planner=fresh.planner,
            poll_interval=RECONCILING_POLL,
            reconcile_interval=RECONCILING_POLL,
            root_stacks=lambda: ["database"],
            identity=IDENTITY,
        )
        async with worker:
            await workflows.ensure_reconciler(temporal_client, task_queue=fresh.task_queue)
            try:
                lane = lane_handle(fresh, "database")
                await eventually(lambda: workflow_exists(lane), 15)  # the run was handed over
                await eventually(lambda: _handled_signals(lane, 1))
                await eventually(lambda: no_pending_activity(lane))
                assert [req.run_id for req in fresh.planned] == []
                chain = temporal_client.get_workflow_handle(
                    workflows.root_chain_id("database", ours.id)
                )
                assert not await workflow_exists(chain)
            finally:
                await temporal_client.get_workflow_handle(
                    workflows.reconciler_id(fresh.task_queue)
                ).terminate()
