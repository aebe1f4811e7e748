"""Every workflow history a seed left replays against the workflow code, and no workflow task
of it failed.

A nondeterministic workflow (code that takes another path on replay than it took live) fails
its workflow task only when the worker replays it: after a restart, a cache eviction or a
query. A seed rarely hits that moment; a replay of every history it made always does. A workflow
task that failed live (a deadlock, an exception in workflow code) is in the history as a
``WorkflowTaskFailed`` event with its cause.
"""

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from temporal.client import DATA_CONVERTER
from temporal.worker import SANDBOX, WORKFLOWS

KEPT = Path(tempfile.gettempdir()) / "stackchain-sim-histories"
"""Where a history that failed is written, to replay and read at leisure."""

BENIGN_TASK_FAILURES = frozenset(
    {
        # A signal arrived while the worker completed the task: the server asks it to redo it.
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        # The sticky worker went away (a restart): the task is retried on the normal queue.
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
    }
)


async def task_queue_histories(client: Client, task_queue: str) -> AsyncIterator[WorkflowHistory]:
    """The history of every workflow run (each continue-as-new run apart) on ``task_queue``."""
    async for execution in client.list_workflows(f"TaskQueue = '{task_queue}'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        yield await handle.fetch_history()


def failed_tasks(history: WorkflowHistory) -> list[str]:
    """The workflow tasks of ``history`` that failed for a reason that is a bug of ours."""
    found = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            continue
        attributes = event.workflow_task_failed_event_attributes
        if attributes.cause in BENIGN_TASK_FAILURES:
            continue
        cause = WorkflowTaskFailedCause.Name(attributes.cause)
        found.append(f"event {event.event_id}: {cause}: {attributes.failure.message[:300]}")
    return found


async def replay_failures(client: Client, task_queue: str) -> dict[str, str]:
    """Workflow run -> why its history does not replay, or which of its tasks failed live."""
    histories = task_queue_histories(client, task_queue)
    # The worker's sandbox, which passes our modules through: the seed's continue-as-new setting
    # is a patched module constant, which a fresh import would not see.
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER, workflow_runner=SANDBOX
    )
    failures: dict[str, str] = {}
    async with replayer.workflow_replay_iterator(histories) as results:
        async for result in results:
            history = result.history
            where = f"{history.workflow_id} ({history.run_id})"
            if result.replay_failure is not None:
                failures[where] = f"replay: {result.replay_failure} (kept: {keep(history)})"
            elif failed := failed_tasks(history):
                failures[where] = "live: " + "; ".join(failed) + f" (kept: {keep(history)})"
    return failures


def keep(history: WorkflowHistory) -> Path:
    """Write ``history`` under :data:`KEPT` as JSON (``WorkflowHistory.from_json`` reads it)."""
    KEPT.mkdir(exist_ok=True)
    path = KEPT / f"{history.workflow_id}.{history.run_id}.json"
    path.write_text(history.to_json())
    return path
