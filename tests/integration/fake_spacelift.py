"""Spacelift at the client's interface, for chain-engine tests: runs move through a state
machine on the event loop and their events are delivered like webhooks (or lost, on request).

An event reaches the sink as production hands it to a lane: the default-shape body Spacelift
sends, parsed by the webhook server's own ``parse_event``, so a lane never gets a field a webhook
does not carry. (The API's view of a run, which the reconciler and the lane's polling read, is
``run_event(stack, run.model())``.)

The sandbox (a later issue) is the real-process stand-in; this fake stays in-process so the
tests can inject faults and read exactly what was asked of Spacelift.
"""

import asyncio
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.web.webhooks.events import Delivery
from app.web.webhooks.handler import parse_event
from spacelift import GraphQLError, PermissionDeniedError, Run, RunNotFoundError, TransientError
from temporal.inputs import RunEvent

EventSink = Callable[[RunEvent], Awaitable[None]]

PATH_TO_PLAN = ("QUEUED", "PREPARING", "PLANNING")
PATH_TO_APPLY = ("APPLYING",)
IDENTITY = "api::stackchain-test"
"""Who the fake records as triggering the runs that ``runTrigger`` makes."""
TERMINAL = frozenset({"FINISHED", "FAILED", "STOPPED", "CANCELED", "DISCARDED"})
NOT_STOPPABLE = TERMINAL | {"QUEUED", "READY", "UNCONFIRMED"}


@dataclass
class FakeRun:
    stack_id: str
    id: str
    created_at: datetime
    outcome: str
    state: str = "QUEUED"
    version: int = 1
    history: list[tuple[str, int, float]] = field(default_factory=list)
    triggered_by: str = IDENTITY
    changes: bool = True
    finished_at: datetime | None = None
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def model(self) -> Run:
        return Run.model_validate(
            {
                "id": self.id,
                "state": self.state,
                "type": "TRACKED",
                "createdAt": self.created_at.timestamp(),
                "triggeredBy": self.triggered_by,
                "finished": self.state in TERMINAL,
                "delta": {"addCount": int(self.changes), "changeCount": 0, "deleteCount": 0},
                "history": [
                    {"state": s, "stateVersion": v, "timestamp": at, "terminal": s in TERMINAL}
                    for s, v, at in self.history
                ],
            }
        )

    def webhook_body(self) -> dict[str, Any]:
        """The default-shape body Spacelift sends for the run's current state."""
        _, version, at = self.history[-1] if self.history else (self.state, self.version, 0.0)
        return {
            "account": "acme",
            "state": self.state,
            "stateVersion": version,
            "timestamp": int(at or self.created_at.timestamp()),
            "run": {
                "id": self.id,
                "branch": "main",
                "createdAt": int(self.created_at.timestamp()),
                "delta": {"added": int(self.changes), "changed": 0, "deleted": 0, "resources": 3},
                "triggeredBy": self.triggered_by,
                "type": "TRACKED",
            },
            "stack": {"id": self.stack_id, "name": self.stack_id, "labels": []},
        }


def as_delivered(body: dict[str, Any]) -> RunEvent:
    """What the webhook server hands a lane for ``body``."""
    parsed = parse_event(json.dumps(body).encode())
    assert isinstance(parsed, Delivery), parsed
    return parsed.event


class FakeSpacelift:
    """Runs follow ``outcomes[stack]`` (one per trigger, default FINISHED).

    Outcomes: ``FINISHED``, ``FAILED``, ``UNCONFIRMED`` (waits for confirm, then finishes) and
    ``HANG`` (stays in PLANNING until stopped); ``-UNCHANGED`` after one (``FINISHED-UNCHANGED``)
    makes the run change no resources. As Spacelift does, ``runCancel`` is refused for a run
    that has started, ``runStop`` for one that has not (or waits in UNCONFIRMED), and
    ``runDiscard`` for one that is not UNCONFIRMED. ``clock_skew`` moves the fake's clock.
    """

    def __init__(self, step: float = 0.005) -> None:
        self.step = step
        self.sink: EventSink | None = None
        self.outcomes: dict[str, list[str]] = {}
        self.runs: dict[str, FakeRun] = {}
        self.triggers: list[tuple[str, str]] = []
        self.confirms: list[str] = []
        self.stops: list[str] = []
        self.drop_events: Callable[[RunEvent], bool] = lambda _event: False
        self.lose_trigger_answer: set[str] = set()
        self.refuse_after_commit: set[str] = set()
        self.forget_runs = False
        self.lost_events = 0
        self.finish_before_answer: set[str] = set()
        self.trigger_gates: dict[str, asyncio.Event] = {}
        self.gated_triggers: list[str] = []
        """Stacks whose ``runTrigger`` call waits at its gate right now (one entry per call)."""
        self.refuse_confirms = 0
        self.clock_skew = 0.0
        self.running = 0
        self.most_running = 0
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def runs_of(self, stack_id: str) -> list[FakeRun]:
        return [run for run in self.runs.values() if run.stack_id == stack_id]

    async def trigger_run(self, stack_id: str, *, commit_sha: str | None = None) -> Run:  # noqa: ARG002
        """Create a run; ``trigger_gates[stack]`` holds the call until the test opens it."""
        gate = self.trigger_gates.get(stack_id)
        if gate is not None:
            self.gated_triggers.append(stack_id)
            try:
                await gate.wait()
            finally:
                self.gated_triggers.remove(stack_id)
        outcomes = self.outcomes.get(stack_id, [])
        outcome, _, unchanged = (outcomes.pop(0) if outcomes else "FINISHED").partition("-")
        run = FakeRun(
            stack_id,
            f"run-{stack_id}-{next(self._ids)}-{uuid.uuid4().hex[:8]}",
            self.now(),
            outcome,
            changes=not unchanged,
        )
        run.history.append(("QUEUED", 1, run.created_at.timestamp()))
        self.runs[run.id] = run
        self.triggers.append((stack_id, run.id))
        self._changed.set()
        task = asyncio.create_task(self._drive(run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if stack_id in self.finish_before_answer:
            await run.done.wait()  # every event is delivered before the caller learns the id
        if stack_id in self.refuse_after_commit:  # a permanent error, yet the run exists
            self.refuse_after_commit.discard(stack_id)
            raise GraphQLError("internal error", operation="runTrigger", stack_id=stack_id)
        if stack_id in self.lose_trigger_answer:
            self.lose_trigger_answer.discard(stack_id)
            raise TransientError(
                "connection reset after commit", operation="runTrigger", stack_id=stack_id
            )
        return run.model()

    async def _drive(self, run: FakeRun) -> None:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await asyncio.sleep(self.step)
            if run.stopped.is_set():  # canceled while QUEUED
                await self._move(run, "CANCELED")
                return
            for state in PATH_TO_PLAN[1:]:
                await self._move(run, state)
            if run.outcome == "HANG":
                await run.stopped.wait()
                await self._move(run, "STOPPED")
                return
            if run.outcome == "UNCONFIRMED":
                await self._move(run, "UNCONFIRMED")
                await _either(run.confirmed, run.stopped)
                if run.stopped.is_set():
                    await self._move(run, "DISCARDED")
                    return
            await self._move(run, "APPLYING")
            await self._move(run, "FAILED" if run.outcome == "FAILED" else "FINISHED")
        finally:
            self.running -= 1
            run.finished_at = datetime.now(UTC)
            run.done.set()

    async def _move(self, run: FakeRun, state: str) -> None:
        await asyncio.sleep(self.step)  # the simulated run's own duration
        run.version += 1
        run.state = state
        run.history.append((state, run.version, self.now().timestamp()))
        self._changed.set()
        event = self.event(run)
        if self.sink is None or self.drop_events(event):
            return
        try:
            await self.sink(event)
        except RuntimeError:  # Temporal unreachable: the webhook is lost, polling recovers it
            self.lost_events += 1

    def now(self) -> datetime:
        """The fake's clock: the wall clock moved by ``clock_skew`` seconds."""
        return datetime.fromtimestamp(datetime.now(UTC).timestamp() + self.clock_skew, UTC)

    def person_run(
        self, stack_id: str, state: str = "FINISHED", *, age: float = 0.0, run_id: str = ""
    ) -> FakeRun:
        """A TRACKED run a person made, already in ``state`` (``age`` seconds ago): a root."""
        at = datetime.fromtimestamp(self.now().timestamp() - age, UTC)
        run_id = run_id or f"01ROOT{uuid.uuid4().hex[:8]}"
        run = FakeRun(stack_id, run_id, at, state, state=state)
        run.triggered_by = "jane.doe"
        run.history += [("QUEUED", 1, at.timestamp()), (state, 5, at.timestamp())]
        run.version = 5
        self.runs[run.id] = run
        return run

    def event(self, run: FakeRun) -> RunEvent:
        """The run's current state as its webhook reaches a lane, through ``parse_event``."""
        return as_delivered(run.webhook_body())

    async def get_run(self, stack_id: str, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None or run.stack_id != stack_id or self.forget_runs:
            raise RunNotFoundError(f"run {run_id} not found", operation="run", stack_id=stack_id)
        return run.model()

    async def list_runs(self, stack_id: str, *, before: str | None = None) -> list[Run]:
        """Newest first, one page (of all of them), older than ``before`` when given."""
        runs = sorted(self.runs_of(stack_id), key=lambda r: r.created_at, reverse=True)
        ids = [run.id for run in runs]
        if before is not None:
            runs = runs[ids.index(before) + 1 :] if before in ids else []
        return [run.model() for run in runs]

    async def confirm_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:  # noqa: ARG002
        if self.refuse_confirms > 0:
            self.refuse_confirms -= 1
            raise PermissionDeniedError("not allowed", operation="runConfirm", stack_id=stack_id)
        self.confirms.append(run_id)
        self.runs[run_id].confirmed.set()
        return self.runs[run_id].model()

    def _end(self, stack_id: str, run_id: str, verb: str, allowed: set[str] | None) -> Run:
        run = self.runs[run_id]
        refused = run.state not in allowed if allowed is not None else run.state in NOT_STOPPABLE
        if refused:
            msg = f"cannot {verb} run {run_id} in state {run.state}"
            raise GraphQLError(msg, operation=f"run{verb.capitalize()}", stack_id=stack_id)
        self.stops.append(run_id)
        run.stopped.set()
        return run.model()

    async def stop_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:  # noqa: ARG002
        return self._end(stack_id, run_id, "stop", None)

    async def discard_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:  # noqa: ARG002
        return self._end(stack_id, run_id, "discard", {"UNCONFIRMED"})

    async def cancel_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:  # noqa: ARG002
        return self._end(stack_id, run_id, "cancel", {"QUEUED", "READY"})

    def has_spare_capacity(self) -> bool:
        """The fake has no rate limit."""
        return True

    async def wait_for_run(self, stack_id: str, index: int = 0) -> FakeRun:
        """The stack's ``index``-th run, once it exists."""
        while len(self.runs_of(stack_id)) <= index:
            await self._changed.wait()
            self._changed.clear()
        return self.runs_of(stack_id)[index]

    async def wait_for_state(self, run: FakeRun, state: str) -> None:
        """Return once ``run`` has been in ``state``."""
        while state not in (entry for entry, _, _ in run.history):
            await self._changed.wait()
            self._changed.clear()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _either(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
