"""Time and background tasks of the sandbox.

The clock is the wall clock plus an offset that tests can move forward.

Moving the clock changes every timestamp the sandbox reports and when its tokens expire, without
waiting. Run phases still last their configured durations in real time (``asyncio.sleep``): they
are tens of milliseconds by default, so nothing needs to be skipped.
"""

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger("spacelift.sandbox")


class Clock:
    """Unix time in seconds, as the sandbox sees it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        """The current unix time in seconds, moved by ``offset``."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (tokens expire, timestamps jump); nothing else happens."""
        self.offset += seconds


class Tasks:
    """The sandbox's background tasks (runs, webhook deliveries), so closing can end them all."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Start ``work`` now; an exception it raises is logged, never lost."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            _log.error("sandbox task %s failed", task.get_name(), exc_info=exc)

    async def aclose(self) -> None:
        """Cancel every task still running and wait until they are gone."""
        while self._tasks:
            pending = list(self._tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
