"""The chain engine's worker as its own process, against the in-process fake Spacelift.

``python -m bench._engine ADDRESS TASK_QUEUE`` runs ``build_worker`` with a fake Spacelift whose
runs finish at once and whose events reach the lanes the way webhooks do (signal-with-start), so
a benchmark can read the worker's own peak memory from ``/proc/<pid>/status`` (the fake's runs
live here too: a few kilobytes a run). Prints ``ready`` once the worker polls; SIGTERM stops it.
"""

import asyncio
import signal
import sys
from datetime import timedelta

from tests.integration.fake_spacelift import FakeSpacelift

from app.launch.runtime import exit_process
from temporal.client import connect, deliver_run_event
from temporal.inputs import ChainInput, RunEvent, StartChainRequest
from temporal.worker import build_worker

POLL_INTERVAL = timedelta(seconds=60)
READY = "ready"


def _no_chain(_: StartChainRequest) -> ChainInput | None:
    """Benchmarks start their chains themselves; a root seen by a lane starts nothing."""
    return None


async def serve(address: str, task_queue: str) -> None:
    """Run the worker until SIGTERM or SIGINT."""
    client = await connect(address)
    fake = FakeSpacelift(step=0)

    async def deliver(event: RunEvent) -> None:
        await deliver_run_event(client, event, task_queue=task_queue, poll_interval=POLL_INTERVAL)

    fake.sink = deliver
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(
        client,
        task_queue=task_queue,
        spacelift=fake,
        planner=_no_chain,
        poll_interval=POLL_INTERVAL,
    )
    async with worker:
        print(READY, flush=True)
        await stop.wait()
    await fake.aclose()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
    exit_process(0)
