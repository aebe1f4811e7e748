"""The run state machine, as Spacelift runs it.

    QUEUED -> PREPARING -> PLANNING -> APPLYING -> FINISHED             (the stack auto-deploys)
    QUEUED -> PREPARING -> PLANNING -> UNCONFIRMED -> APPLYING -> ...   (runConfirm)
                                       UNCONFIRMED -> DISCARDED          (runDiscard)
    any of PREPARING, PLANNING, APPLYING -> FAILED (the planned outcome) or STOPPED (runStop)
    QUEUED -> CANCELED                                                    (runCancel)

A PROPOSED run stops after PLANNING with FINISHED and runs beside the tracked ones. A stack's
TRACKED runs go one at a time: the others wait in QUEUED, in the order they were created.
Each run advances on its own asyncio task, which ``runStop`` and ``runCancel`` cancel.
"""

import asyncio
from collections import deque
from collections.abc import Callable

from spacelift.models import RunState, RunType
from spacelift.sandbox.config import SandboxStack
from spacelift.sandbox.runs import SimRun
from spacelift.sandbox.runtime import Tasks

Move = Callable[[SimRun, RunState], None]
"""Records a transition of a run (and tells the world about it)."""


async def execute(run: SimRun, stack: SandboxStack, move: Move) -> None:
    """Drive ``run`` from QUEUED to its end; stopping or cancelling it cancels this coroutine."""
    durations = stack.durations
    await asyncio.sleep(durations.queued)
    for phase in (RunState.PREPARING, RunState.PLANNING):
        move(run, phase)
        await asyncio.sleep(durations.of(phase))
        if run.outcome.fail_at is phase:
            move(run, RunState.FAILED)
            return
    run.planned = True
    if run.type is RunType.PROPOSED:
        move(run, RunState.FINISHED)
        return
    if stack.autodeploy:
        move(run, RunState.APPLYING)
    else:
        move(run, RunState.UNCONFIRMED)
        await run.decided.wait()  # runConfirm moves the run to APPLYING, runDiscard ends it
        if run.is_terminal:
            return
    await asyncio.sleep(durations.applying)
    failed = run.outcome.fail_at is RunState.APPLYING
    move(run, RunState.FAILED if failed else RunState.FINISHED)


class Lane:
    """One stack's TRACKED runs, executed one at a time in the order they were queued."""

    def __init__(self, stack: SandboxStack, move: Move, tasks: Tasks) -> None:
        self._stack = stack
        self._move = move
        self._tasks = tasks
        self._queue: deque[SimRun] = deque()
        self._worker: asyncio.Task[None] | None = None

    def submit(self, run: SimRun) -> None:
        """Queue ``run``; PROPOSED runs start at once, beside the lane."""
        if run.type is RunType.PROPOSED:
            run.task = self._tasks.spawn(execute(run, self._stack, self._move), f"run-{run.id}")
            return
        self._queue.append(run)
        if self._worker is None or self._worker.done():
            self._worker = self._tasks.spawn(self._work(), f"lane-{self._stack.id}")

    async def _work(self) -> None:
        while self._queue:
            run = self._queue.popleft()
            if run.is_terminal:  # canceled while it waited
                continue
            run.task = self._tasks.spawn(execute(run, self._stack, self._move), f"run-{run.id}")
            await asyncio.wait([run.task])
