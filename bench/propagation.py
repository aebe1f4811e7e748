"""Propagation: from an upstream run's FINISHED to the downstream ``runTrigger``, end to end.

The whole path runs as in production: the Spacelift sandbox (in this process, over HTTP) sends
signed webhooks to ``python -m app api``; ``python -m app worker`` runs the engine against the
sandbox's GraphQL API; Temporal is a dev server. Many small chains ``r -> a -> b -> c`` are
pushed a batch at a time; every edge gives one figure, read from the sandbox's own clock: the
downstream run's creation (when ``runTrigger`` reached the sandbox) minus the moment the upstream
run became FINISHED (before its webhook was sent). ``r -> a`` includes starting the chain; the
other edges are within a running chain.

The first chains go one at a time (latency alone), the rest ten at once (latency under load,
with the CPU each process spent per run in that phase).
In the same run, on the same dev server, ``_floor`` measures Temporal's own floor: a signal to
a workflow whose workflow task starts an activity. stackchain's edge takes three such workflow
tasks in a row, so the floor says what the targets ask of Temporal on this machine.
"""

import itertools
import os
import tempfile
import uuid
from pathlib import Path

from tests.integration.conftest import free_port

from bench._floor import signal_to_activity
from bench._harness import Observation, Target, percentile, run_once
from bench._procs import child, cpu_seconds, http_ready, wait_for
from spacelift.models import RunState
from spacelift.sandbox import (
    DEFAULT_KEY_ID,
    DEFAULT_KEY_SECRET,
    Durations,
    Sandbox,
    SandboxConfig,
    SandboxStack,
    WebhookTarget,
    running_sandbox,
)
from temporal.client import connect
from temporal.devserver import DevServer

ALONE = 15
"""Chains pushed one at a time."""
LOADED = 50
"""Chains pushed ``BATCH`` at a time, after those."""
BATCH = 10
LINKS = ("r", "a", "b", "c")
SECRET = "bench-propagation-secret"  # noqa: S105 - a throwaway secret for loopback
RUN = Durations(queued=0.01, preparing=0.02, planning=0.05, applying=0.05)
P50_MS, P99_MS = 50.0, 250.0


def stack_file(chains: int) -> str:
    """``chains`` independent chains ``r<i> -> a<i> -> b<i> -> c<i>``, confirmed automatically."""
    lines = [
        "version: 1",
        "chain: {max_parallel: 8}",
        "defaults: {retries: 0, confirm: auto}",
        "stacks:",
    ]
    for index in range(chains):
        lines.append(f"  r{index}: {{}}")
        for upstream, stack in itertools.pairwise(LINKS):
            lines.append(f"  {stack}{index}: {{depends_on: [{upstream}{index}]}}")
    return "\n".join(lines) + "\n"


def sandbox_config(chains: int, webhook_url: str) -> SandboxConfig:
    """Every stack auto-deploys, so a run goes straight from QUEUED to FINISHED."""
    stacks = tuple(
        SandboxStack(f"{link}{index}", durations=RUN) for index in range(chains) for link in LINKS
    )
    return SandboxConfig(stacks=stacks, webhook=WebhookTarget(url=webhook_url, secret=SECRET))


def edge_delays(sandbox: Sandbox, index: int) -> list[tuple[str, float]]:
    """(edge kind, seconds) for each edge of chain ``index``."""
    delays = []
    for upstream, stack in itertools.pairwise(LINKS):
        (up_run,) = sandbox.runs(f"{upstream}{index}")
        finished = next(t.timestamp for t in up_run.history if t.state is RunState.FINISHED)
        (down_run,) = sandbox.runs(f"{stack}{index}")
        kind = "chain start" if upstream == "r" else "within chain"
        delays.append((kind, down_run.created_at - finished))
    return delays


async def push_batch(sandbox: Sandbox, indexes: range) -> None:
    """Push the roots of ``indexes`` and wait until every chain's last run FINISHED."""
    for index in indexes:
        sandbox.push(f"r{index}")

    def done() -> bool:
        return all(
            any(run.state is RunState.FINISHED for run in sandbox.runs(f"{LINKS[-1]}{index}"))
            for index in indexes
        )

    await sandbox.wait_until(done, timeout=120, what=f"chains {indexes} finishing")


async def measure_propagation() -> Observation:
    """Run every chain through the real processes; percentiles of the edge delays."""
    api_port = free_port()
    chains = 1 + ALONE + LOADED  # chain 0 warms the processes up and is not counted
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "stacks.yaml"
        config_path.write_text(stack_file(chains))
        config = sandbox_config(chains, f"http://127.0.0.1:{api_port}/webhooks/spacelift")
        async with (
            DevServer(Path(":memory:"), port=free_port(), ui_port=None) as server,
            running_sandbox(config) as served,
        ):
            env = {
                "TEMPORAL_ADDRESS": server.address,
                "STACKCHAIN_TASK_QUEUE": f"bench-propagation-{uuid.uuid4().hex[:8]}",
                "STACKCHAIN_CONFIG": str(config_path),
                "STACKCHAIN_WEBHOOK_SECRET": SECRET,
                "SPACELIFT_API_KEY_ENDPOINT": served.url,
                "SPACELIFT_API_KEY_ID": DEFAULT_KEY_ID,
                "SPACELIFT_API_KEY_SECRET": DEFAULT_KEY_SECRET,
            }
            api_args = ("-m", "app", "api", "--port", str(api_port))
            async with (
                child("propagation-api", *api_args, env=env) as api,
                child("propagation-worker", "-m", "app", "worker", env=env) as worker,
            ):
                url = f"http://127.0.0.1:{api_port}/readyz"
                await wait_for(lambda: http_ready(url), within=60, what="API ready")
                floor = await signal_to_activity(await connect(server.address))
                for index in range(1 + ALONE):
                    await push_batch(served.sandbox, range(index, index + 1))
                processes = {
                    "server": server.pid,
                    "worker": worker.pid,
                    "api": api.pid,
                    "sandbox": os.getpid(),  # this process: the sandbox and the pushes
                }
                before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                for start in range(1 + ALONE, chains, BATCH):
                    await push_batch(served.sandbox, range(start, min(start + BATCH, chains)))
                runs = LOADED * len(LINKS)
                cpu_ms_per_run = {
                    name: round((cpu_seconds(pid) - before[name]) / runs * 1000, 1)
                    for name, pid in processes.items()
                }
                alone = [d for i in range(1, 1 + ALONE) for d in edge_delays(served.sandbox, i)]
                loaded = [
                    d for i in range(1 + ALONE, chains) for d in edge_delays(served.sandbox, i)
                ]
    return _observation(alone, loaded, floor, cpu_ms_per_run)


def _observation(
    alone: list[tuple[str, float]],
    loaded: list[tuple[str, float]],
    floor: list[float],
    cpu_ms_per_run: dict[str, float],
) -> Observation:
    every = [seconds * 1000 for _, seconds in alone + loaded]
    floor_p50 = percentile(floor, 50) * 1000
    notes: dict[str, object] = {
        "edges": len(every),
        "floor_signal_to_activity_p50_ms": round(floor_p50, 1),
        "floor_signal_to_activity_p99_ms": round(percentile(floor, 99) * 1000, 1),
    }
    for phase, delays in (("alone", alone), (f"{BATCH}_at_once", loaded)):
        for kind in ("chain start", "within chain"):
            some = [seconds * 1000 for k, seconds in delays if k == kind]
            key = f"{phase}_{kind.replace(' ', '_')}"
            notes[f"{key}_p50_ms"] = round(percentile(some, 50), 1)
            notes[f"{key}_p99_ms"] = round(percentile(some, 99), 1)
    alone_p50 = percentile([seconds * 1000 for _, seconds in alone], 50)
    notes["alone_p50_over_floor_p50"] = round(alone_p50 / floor_p50, 1)
    notes[f"{BATCH}_at_once_cpu_ms_per_run"] = cpu_ms_per_run
    p50, p99 = percentile(every, 50), percentile(every, 99)
    notes |= {"p50_ms": round(p50, 1), "p99_ms": round(p99, 1), "max_ms": round(max(every), 1)}
    targets = [
        Target("propagation p50", p50, P50_MS, unit=" ms"),
        Target("propagation p99", p99, P99_MS, unit=" ms"),
    ]
    return Observation(notes, targets)


BENCHMARKS = [run_once(f"propagation, {ALONE + LOADED} chains r->a->b->c", measure_propagation)]
