"""The chain engine's worker as a process: ``stackchain worker``, and its part in ``serve``."""

import asyncio
from typing import NoReturn

from rich.console import Console
from temporalio.client import Client

from app.core.chains import root_planner, root_stacks
from app.core.settings import Settings
from app.core.spacelift_factory import create_spacelift_client
from app.core.temporal_connect import connect_temporal, temporal_target
from app.launch.runtime import exit_process, run_until_stopped
from temporal.client import ensure_reconciler
from temporal.worker import build_worker


async def run_worker(settings: Settings, client: Client, stop: asyncio.Event) -> None:
    """Run the chain engine's worker against the configured Spacelift until ``stop`` is set."""
    async with create_spacelift_client(settings) as spacelift:
        worker = build_worker(
            client,
            task_queue=settings.task_queue,
            spacelift=spacelift,
            planner=root_planner(settings.config_path, settings.spacelift_endpoint or ""),
            poll_interval=settings.poll_interval,
            event_max_age=settings.event_max_age,
            reconcile_interval=settings.reconcile_interval,
            root_stacks=root_stacks(settings.config_path),
            identity=settings.spacelift_identity,
        )
        async with worker:
            await ensure_reconciler(client, task_queue=settings.task_queue)
            await stop.wait()


def run_worker_process(settings: Settings, console: Console) -> NoReturn:
    """Connect to Temporal, say so on ``console``, and run the worker until SIGINT or SIGTERM."""

    async def main(stop: asyncio.Event) -> None:
        client = await connect_temporal(settings)
        where = temporal_target(settings)
        console.print(f"worker: task queue {settings.task_queue!r} on Temporal at {where}")
        await run_worker(settings, client, stop)

    exit_process(run_until_stopped(main))
