"""Long-running parts of stackchain as processes: the worker now, ``serve`` composes the rest.

Every long-running command ends through :func:`exit_process`: temporalio's Rust runtime can
abort the interpreter at exit (sdk-python#300) after a clean shutdown, turning success into
exit code 134.
"""

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn

from temporalio.client import Client

from app.core.chains import root_planner, root_stacks
from app.core.settings import Settings
from app.core.spacelift_factory import create_spacelift_client
from temporal.client import ensure_reconciler
from temporal.worker import build_worker


def exit_process(code: int) -> NoReturn:
    """Flush and leave at once, skipping interpreter teardown (see the module docstring)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so a process shuts down cleanly on either."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


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


def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run ``main(stop)`` on a fresh event loop; 0 after a clean stop, 1 after an error."""

    async def body() -> None:
        await main(stop_on_signals())

    try:
        asyncio.run(body())
    except Exception as error:  # noqa: BLE001 - the process's last word: say it and fail
        print(f"stackchain: {error}", file=sys.stderr)  # noqa: T201
        return 1
    return 0
