"""Chain scale: one chain of many stacks with instant runs, on a real Temporal dev server.

Reports wall time, overhead per stack, the chain's history events (across continue-as-new) and
the process's peak memory (worker, fake Spacelift and this harness together: an upper bound).
The dev server keeps its store in memory here: the figure is stackchain's overhead, not SQLite's
disk writes (a file store roughly doubles the wall time on this machine).
"""

import asyncio
import resource
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from tests.integration.conftest import Engine, free_port
from tests.integration.fake_spacelift import FakeSpacelift

from bench._harness import Benchmark
from temporal.client import connect
from temporal.devserver import DevServer
from temporal.inputs import ChainInput, ChainStack, StackPolicy
from temporal.worker import build_worker

WAVE_WIDTH = 50


def layered_chain(count: int, max_parallel: int) -> ChainInput:
    """``count`` stacks in waves of 50; each depends on two stacks of the wave before."""
    stacks = []
    for index in range(count):
        wave, position = divmod(index, WAVE_WIDTH)
        if wave == 0:
            upstreams = ["root"]
        else:
            before = (wave - 1) * WAVE_WIDTH
            upstreams = [f"s{before + position}", f"s{before + (position + 1) % WAVE_WIDTH}"]
        stacks.append(ChainStack(f"s{index}", upstreams, StackPolicy(retries=0)))
    return ChainInput(root_stack="root", stacks=stacks, max_parallel=max_parallel)


async def _history_events(client: Client, workflow_id: str) -> list[int]:
    """Events in each run of the chain (continue-as-new starts a new run), largest first.

    Visibility trails the workflow's completion by a moment: wait for the closed run to show.
    """
    query = f'WorkflowId = "{workflow_id}"'
    for _ in range(100):
        executions = [execution async for execution in client.list_workflows(query)]
        if executions and all(execution.close_time for execution in executions):
            return sorted(e.history_length for e in executions if e.history_length)[::-1]
        await asyncio.sleep(0.1)
    return []


async def run_chain(count: int, max_parallel: int) -> dict[str, Any]:
    """Run one chain to the end; returns what was observed besides the time."""
    async with DevServer(Path(":memory:"), port=free_port(), ui_port=None) as server:
        client = await connect(server.address)
        fake = FakeSpacelift(step=0)
        engine = Engine(client, fake, f"bench-{uuid.uuid4().hex[:6]}", timedelta(seconds=60))
        fake.sink = engine.deliver
        worker = build_worker(
            client,
            task_queue=engine.task_queue,
            spacelift=fake,
            planner=engine.planner,
            poll_interval=engine.poll_interval,
        )
        async with worker:
            handle = await engine.start(layered_chain(count, max_parallel))
            result = await handle.result()
            events = await _history_events(client, handle.id)
        await fake.aclose()
    if result["status"] != "succeeded":
        msg = f"the benchmark chain ended {result['status']}"
        raise RuntimeError(msg)
    return {
        "history_events_per_run": events,
        "runs": len(fake.triggers),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _case(count: int, max_parallel: int) -> Benchmark:
    return Benchmark(
        f"chain of {count:,} stacks (max_parallel {max_parallel})",
        prepare=lambda: None,
        run=lambda _: asyncio.run(run_chain(count, max_parallel)),
        repeat=1,
        warm_up=False,
        notes={"stacks": count, "max_parallel": max_parallel},
    )


BENCHMARKS = [_case(100, 50), _case(1_000, 50), _case(2_000, 50)]
