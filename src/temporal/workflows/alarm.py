"""A durable timer for a workflow loop that is only ever moved earlier.

``workflow.wait_condition(..., timeout=...)`` starts and cancels a timer on every pass of a
loop: two history events and a workflow task each time. A chain waiting on 2-hour run time-outs,
or a lane polling every minute, needs one timer at a time instead: a later deadline keeps the
armed timer (the loop wakes early, finds nothing due, and arms again), an earlier one replaces it.
"""

import asyncio
from datetime import datetime

from temporalio import workflow


class Alarm:
    """``set(at)`` arms the timer; ``rang`` turns true once it fires, until ``clear()``."""

    def __init__(self) -> None:
        self.rang = False
        self._at: datetime | None = None
        self._timer: asyncio.Task[None] | None = None

    def set(self, at: datetime | None, now: datetime | None = None) -> None:
        """Make sure the alarm rings by ``at`` (None: no deadline needed).

        ``now`` is the moment ``at`` was computed at, when that was before an await: whether a
        timer is armed must not depend on a later activation's time (see the chain's loop).
        """
        if at is None:
            return
        if self._timer is not None and not self._timer.done():
            if self._at is not None and self._at <= at:
                return
            self._timer.cancel()
        delay = (at - (workflow.now() if now is None else now)).total_seconds()
        if delay <= 0:
            self.rang = True
            return
        self._at = at
        self._timer = asyncio.create_task(self._ring(delay))

    async def _ring(self, delay: float) -> None:
        await workflow.sleep(delay)
        self.rang = True

    def disarm(self) -> None:
        """Cancel the armed timer, when nothing will be due for a while.

        A cancelled timer is one event in the workflow task at hand; a timer left to fire costs
        an event and a workflow task of its own, later, for nothing.
        """
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None
        self._at = None

    def clear(self) -> None:
        """Acknowledge a ring; the next ``set`` arms a new timer."""
        self.rang = False
