"""How every long-running process starts and ends: signals, one event loop, and a prompt exit.

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
