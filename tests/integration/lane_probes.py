"""What the review tests ask of a lane through Temporal: its handle, whether it has an activity
in flight, how often it scheduled one, whether it sits idle; and a call held behind a gate."""

import asyncio
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from temporal.inputs import lane_id
from tests.integration.conftest import Engine


def lane_handle(engine: Engine, stack_id: str) -> WorkflowHandle[Any, Any]:
    """The handle of the stack's lane on the engine's task queue."""
    return engine.client.get_workflow_handle(lane_id(engine.task_queue, stack_id))


async def no_pending_activity(handle: WorkflowHandle[Any, Any]) -> bool:
    """No activity of the workflow is in flight."""
    return not (await handle.describe()).raw_description.pending_activities


async def scheduled(handle: WorkflowHandle[Any, Any], activity: str) -> int:
    """How many times the workflow scheduled ``activity``."""
    events = (await handle.fetch_history()).events
    return sum(
        event.activity_task_scheduled_event_attributes.activity_type.name == activity
        for event in events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )


async def scheduled_at_least(handle: WorkflowHandle[Any, Any], activity: str, n: int) -> bool:
    """The workflow scheduled ``activity`` ``n`` times or more."""
    return await scheduled(handle, activity) >= n


async def idle(handle: WorkflowHandle[Any, Any]) -> bool:
    """No activity in flight and no timer armed: the lane waits for signals only."""
    if not await no_pending_activity(handle):
        return False
    events = (await handle.fetch_history()).events
    started = sum(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events)
    ended = sum(
        e.event_type in {EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_TIMER_CANCELED}
        for e in events
    )
    last = events[-1].event_type
    return started == ended and last == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


async def after(gate: asyncio.Event, call: Any) -> Any:
    """``call``, awaited once ``gate`` is set."""
    await gate.wait()
    return await call
