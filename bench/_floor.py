"""Temporal's own floor for propagation: the shortest path any design built on it can take.

A signal from a client reaches a workflow, whose workflow task starts an activity: one workflow
task and one activity dispatch, on the dev server the benchmark uses, with the same SDK worker
defaults as stackchain's (sandboxed runner, sticky cache). stackchain's edge needs three workflow
tasks in a row (the upstream's lane, the chain, the downstream's lane), so this is the figure to
hold a propagation time against: measured in the same run, it carries the machine's load too.

The workflow lives in this module, which imports the standard library and ``temporalio``, and
passes the benchmark's own helpers through, so the sandbox imports it cheaply.
"""

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from bench._procs import wait_for

SAMPLES = 60


class Arrivals:
    """When each hop's activity started, by this process's clock."""

    def __init__(self) -> None:
        """None arrived yet."""
        self.times: dict[int, float] = {}
        self.arrived = asyncio.Event()

    @activity.defn(name="reached")
    async def reached(self, hop: int) -> None:
        """Record the moment the hop's activity started."""
        self.times[hop] = time.perf_counter()
        self.arrived.set()


@workflow.defn
class HopWorkflow:
    """Start ``reached(hop)`` for each ``hop`` signalled; a negative hop ends it."""

    def __init__(self) -> None:
        """No hops yet."""
        self._hops: list[int] = []

    @workflow.signal
    def hop(self, hop: int) -> None:
        """A hop to pass on to an activity."""
        self._hops.append(hop)

    @workflow.run
    async def run(self) -> None:
        """Pass each hop on until a negative one."""
        while True:
            await workflow.wait_condition(lambda: bool(self._hops))
            hop = self._hops.pop(0)
            if hop < 0:
                return
            await workflow.execute_activity_method(
                Arrivals.reached, hop, start_to_close_timeout=timedelta(seconds=30)
            )


async def signal_to_activity(client: Client, samples: int = SAMPLES) -> list[float]:
    """Seconds from ``signal`` to the activity starting, ``samples`` hops one at a time.

    Each hop is sent once the workflow is idle again (its activity done, no workflow task
    pending), so no hop waits behind the one before.
    """
    task_queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    arrivals = Arrivals()
    async with Worker(
        client, task_queue=task_queue, workflows=[HopWorkflow], activities=[arrivals.reached]
    ):
        handle = await client.start_workflow(
            HopWorkflow.run, id=f"floor-{task_queue}", task_queue=task_queue
        )
        delays = []
        for hop in range(samples + 1):  # hop 0 warms the worker's cache up
            await _idle(handle)
            arrivals.arrived.clear()
            sent = time.perf_counter()
            await handle.signal(HopWorkflow.hop, hop)
            await asyncio.wait_for(arrivals.arrived.wait(), 30)
            if hop:
                delays.append(arrivals.times[hop] - sent)
        await handle.signal(HopWorkflow.hop, -1)
        await handle.result()
    return delays


async def _idle(handle: WorkflowHandle[Any, Any]) -> None:
    """Return once the workflow has no activity and no workflow task pending."""

    async def idle() -> bool:
        described = (await handle.describe()).raw_description
        return not described.pending_activities and not described.HasField("pending_workflow_task")

    await wait_for(idle, within=30, what=f"{handle.id} idle", every=0.005)
