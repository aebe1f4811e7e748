"""Chain scale: chains with instant runs on a real Temporal dev server, the worker on its own.

The worker (``bench._engine``: the engine's worker with a fake Spacelift whose runs finish at
once) runs in a child process, so its peak memory is its own (``VmHWM``); this process only
starts chains and waits for them. The dev server keeps its store in memory: the figure is
stackchain's overhead, not SQLite's disk writes (a file store roughly doubles the wall time).

- one chain of N stacks: wall time from start to result (server and worker already up), overhead
  per stack (the runs take no time, so all of it is overhead), the chain's history events across
  continue-as-new, the worker's peak memory;
- many small chains at once (``a -> b`` each, their own stacks): the worker's peak memory.
"""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from temporalio.client import Client
from tests.integration.conftest import free_port

from bench._harness import Benchmark, Observation, Target, run_once
from bench._procs import child, cpu_seconds, peak_rss_mb
from temporal.client import connect, manual_chain_id, start_chain
from temporal.devserver import DevServer
from temporal.inputs import ChainInput, ChainStack, StackPolicy

WAVE_WIDTH = 50
MS_PER_STACK = 20.0
TARGET_STACKS = 2_000
"""The chain size the per-stack overhead target is for."""
WORKER_MB = 250.0
POLICY = StackPolicy(retries=0)


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
        stacks.append(ChainStack(f"s{index}", upstreams, POLICY))
    return ChainInput(root_stack="root", stacks=stacks, max_parallel=max_parallel)


def small_chain(index: int) -> ChainInput:
    """``r<i> -> a<i> -> b<i>``: two stacks to run, of their own."""
    stacks = [
        ChainStack(f"a{index}", [f"r{index}"], POLICY),
        ChainStack(f"b{index}", [f"a{index}"], POLICY),
    ]
    return ChainInput(root_stack=f"r{index}", stacks=stacks)


@dataclass(frozen=True)
class Rig:
    """A dev server, a client of it and the worker process on a fresh task queue."""

    client: Client
    task_queue: str
    worker_pid: int
    server_pid: int


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    """Start the dev server and the worker; stop both when the block ends."""
    async with DevServer(Path(":memory:"), port=free_port(), ui_port=None) as server:
        client = await connect(server.address)
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        args = ("-m", "bench._engine", server.address, task_queue)
        async with child("chains-worker", *args, ready_line="ready") as worker:
            yield Rig(client, task_queue, worker.pid, server.pid)


async def run_one(rig: Rig, req: ChainInput) -> dict[str, Any]:
    """Start a chain and wait for its result; it must succeed."""
    chain_id = manual_chain_id(req.root_stack, uuid.uuid4().hex[:8])
    handle = await start_chain(rig.client, task_queue=rig.task_queue, chain_id=chain_id, req=req)
    result = cast("dict[str, Any]", await handle.result())
    if result["status"] != "succeeded":
        msg = f"the benchmark chain {chain_id} ended {result['status']}"
        raise RuntimeError(msg)
    return result


async def _history_events(client: Client, chain_id: str) -> list[int]:
    """Events in each run of the chain (continue-as-new starts a new run), largest first.

    Visibility trails the workflow's completion by a moment: wait for the closed run to show.
    """
    query = f'WorkflowId = "{chain_id}"'
    for _ in range(100):
        executions = [execution async for execution in client.list_workflows(query)]
        if executions and all(execution.close_time for execution in executions):
            return sorted(e.history_length for e in executions if e.history_length)[::-1]
        await asyncio.sleep(0.1)
    return []


async def run_chain(count: int, max_parallel: int) -> Observation:
    """One chain of ``count`` stacks, timed from its start to its result."""
    async with rig() as bench:
        cpu = (cpu_seconds(bench.worker_pid), cpu_seconds(bench.server_pid))
        start = time.perf_counter()
        result = await run_one(bench, layered_chain(count, max_parallel))
        took = time.perf_counter() - start
        worker_cpu = cpu_seconds(bench.worker_pid) - cpu[0]
        server_cpu = cpu_seconds(bench.server_pid) - cpu[1]
        events = await _history_events(bench.client, result["chain_id"])
        peak = peak_rss_mb(bench.worker_pid)
    per_stack = took / count * 1000
    notes: dict[str, object] = {
        "chain_seconds": round(took, 1),
        "ms_per_stack": round(per_stack, 1),
        "worker_cpu_ms_per_stack": round(worker_cpu / count * 1000, 1),
        "server_cpu_ms_per_stack": round(server_cpu / count * 1000, 1),
        "history_events_per_run": events,
        "runs": sum(stack["attempts"] for stack in result["stacks"].values()),
        "worker_peak_mb": peak,
        "load_average": [round(load, 1) for load in os.getloadavg()],
    }
    targets = (
        [Target("overhead per stack", per_stack, MS_PER_STACK, " ms")]
        if count >= TARGET_STACKS
        else []
    )
    return Observation(notes, targets)


async def run_many(count: int, starting_at_once: int = 50) -> Observation:
    """``count`` small chains started together; the worker's peak memory once all have ended."""
    async with rig() as bench:
        gate = asyncio.Semaphore(starting_at_once)

        async def one(index: int) -> None:
            req = small_chain(index)
            chain_id = manual_chain_id(req.root_stack, uuid.uuid4().hex[:8])
            async with gate:
                handle = await start_chain(
                    bench.client, task_queue=bench.task_queue, chain_id=chain_id, req=req
                )
            if cast("dict[str, Any]", await handle.result())["status"] != "succeeded":
                msg = f"{chain_id} did not succeed"
                raise RuntimeError(msg)

        start = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(count)))
        took = time.perf_counter() - start
        peak = peak_rss_mb(bench.worker_pid)
    notes: dict[str, object] = {
        "chains": count,
        "stacks_per_chain": 2,
        "all_done_seconds": round(took, 1),
        "worker_peak_mb": peak,
        "load_average": [round(load, 1) for load in os.getloadavg()],
    }
    return Observation(notes, [Target("worker peak memory", peak, WORKER_MB, " MB")])


def _case(count: int, max_parallel: int) -> Benchmark:
    return run_once(
        f"chain of {count:,} stacks (max_parallel {max_parallel})",
        lambda: run_chain(count, max_parallel),
        notes={"stacks": count, "max_parallel": max_parallel},
    )


BENCHMARKS = [
    _case(100, 50),
    _case(1_000, 50),
    _case(2_000, 50),
    run_once("1,000 concurrent chains a->b", lambda: run_many(1_000)),
]
