"""Run events handed to lanes the way the webhook server does, with the seed's webhook faults.

Every state change of a run becomes a ``RunEvent`` (as ``temporal.activities.run_event`` builds
it, stamped with the transition's time) delivered by ``temporal.client.deliver_run_event``.
Per (stack, run ordinal, state version) the seed decides its fate: delivered, lost, sent twice,
delayed (overtaken by later events) or held back until the run's next event (reordered).
Events of one run otherwise go out one after another, in order.
"""

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from spacelift.models import RunState
from spacelift.sandbox.config import Delta
from spacelift.sandbox.runs import SimRun, Transition
from spacelift.sandbox.runtime import Tasks
from spacelift.sandbox.world import StackEntry
from temporal.activities import run_event
from temporal.inputs import RunEvent
from tests.simulation.scenario import ENGINE, Scenario
from tests.simulation.spacelift_sim import run_model

Deliver = Callable[[RunEvent], Awaitable[None]]
CHANGES = Delta(added=1)
NO_CHANGES = Delta(added=0)


@dataclass(frozen=True)
class Fate:
    """What happens to one webhook."""

    lost: bool = False
    copies: int = 1
    delay: float = 0.0
    held: bool = False


@dataclass
class WebhookLog:
    """What was done to webhooks, for failure reports."""

    lost: list[tuple[str, str]] = field(default_factory=list)  # (run id, state)
    faults: int = 0
    errors: list[str] = field(default_factory=list)


class Webhooks:
    """The world's ``on_transition``: draws each event's fate and delivers it."""

    def __init__(self, scenario: Scenario, tasks: Tasks, *, may_lose_roots: bool) -> None:
        self.scenario = scenario
        self.tasks = tasks
        self.may_lose_roots = may_lose_roots
        self.deliver: Deliver | None = None
        self.log = WebhookLog()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, list[RunEvent]] = {}
        self.changed = asyncio.Event()
        """Set at every transition of a run (and by the harness when a chain becomes known)."""

    def on_transition(
        self, entry: StackEntry, run: SimRun, transition: Transition, *, publish: bool = True
    ) -> None:
        """Record the transition; plan the run's delta when it is created; send the webhook."""
        self.changed.set()
        if transition.state is RunState.QUEUED:
            changes = self.scenario.has_changes(run.stack_id, run.ordinal)
            run.delta = CHANGES if changes else NO_CHANGES
        if not publish:
            return
        at = datetime.fromtimestamp(transition.timestamp, UTC)
        event = dataclasses.replace(run_event(entry.spec.id, run_model(run)), timestamp=at)
        fate = self._fate(run, transition)
        if fate.lost:
            self.log.lost.append((run.id, transition.state.value))
            return
        if fate.delay:  # sent on its own, later: events after it may overtake it
            self.tasks.spawn(self._later(event, fate), f"hook-late-{run.id}")
            return
        previous = self._tails.get(run.id)
        self._tails[run.id] = self.tasks.spawn(
            self._in_order(previous, event, fate, terminal=transition.terminal),
            f"hook-{run.id}-{transition.state_version}",
        )

    def _fate(self, run: SimRun, transition: Transition) -> Fate:
        odds = self.scenario.webhooks
        key = f"{self.scenario.seed}:hook:{run.stack_id}:{run.ordinal}:{transition.state_version}"
        rng = random.Random(key)  # noqa: S311 - reproducible per event, whatever the interleaving
        roll = rng.random()
        root = run.triggered_by != ENGINE and transition.state is RunState.FINISHED
        fate = Fate()
        if roll < odds.lost:
            fate = Fate(lost=not root or self.may_lose_roots)
        elif (roll := roll - odds.lost) < odds.duplicated:
            fate = Fate(copies=2)
        elif (roll := roll - odds.duplicated) < odds.delayed:
            fate = Fate(delay=rng.uniform(0.2, 2.0))
        elif roll - odds.delayed < odds.reordered:
            fate = Fate(held=True)
        if fate != Fate():
            self.log.faults += 1
        return fate

    async def _later(self, event: RunEvent, fate: Fate) -> None:
        await asyncio.sleep(fate.delay)  # the delivery is late: time passing in the fault plan
        await self._send(event, fate.copies)

    async def _in_order(
        self, previous: asyncio.Task[None] | None, event: RunEvent, fate: Fate, *, terminal: bool
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if fate.held and not terminal:
            self._held.setdefault(event.run_id, []).append(event)
            return
        await self._send(event, fate.copies)
        for held in self._held.pop(event.run_id, []):
            await self._send(held, 1)

    async def _send(self, event: RunEvent, copies: int) -> None:
        assert self.deliver is not None
        for _ in range(copies):
            try:
                await self.deliver(event)
            except Exception as error:  # noqa: BLE001 - a failed delivery is evidence, not a crash
                self.log.errors.append(f"{event.run_id} {event.state}: {error!r}")
