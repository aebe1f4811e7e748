"""Spacelift for the simulation: the sandbox's run model behind the engine's ``RunsApi``.

Runs live in a :class:`spacelift.sandbox.world.World` (real state machine, real phases on the
event loop). Calls fail as the real client would: a missing run is ``RunNotFoundError``, an
action Spacelift refuses is a ``GraphQLError``; the seed adds transient errors (before or after
the call took effect) and lost trigger answers (the run exists, the caller hears
``TransientError``).
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from spacelift import GraphQLError, Run, RunNotFoundError, StackNotFoundError, TransientError
from spacelift.sandbox.runs import NotFoundError, SandboxError, SimRun
from spacelift.sandbox.views import run_view
from spacelift.sandbox.world import World
from tests.simulation.evidence import InjectedFault
from tests.simulation.scenario import ENGINE, CallOdds

T = TypeVar("T")
Fault = Literal["none", "before", "after"]
RUNS_PAGE = 50
MAX_FAULTS_IN_A_ROW = 2
"""Faults on one (operation, stack) in a row, at most: keeps a call's retry delays bounded."""


def run_model(run: SimRun) -> Run:
    """The run as the client returns it (GraphQL view, whole-second times)."""
    return Run.model_validate(run_view(run))


@dataclass
class CallFaults:
    """Draws each call's fault from the seed's call RNG, in the order calls arrive."""

    odds: CallOdds
    rng: random.Random
    now: Callable[[], float] = time.time
    """The sandbox clock, to stamp each injected fault."""
    in_a_row: dict[tuple[str, str], int] = field(default_factory=dict)
    injected: list[InjectedFault] = field(default_factory=list)

    def draw(self, operation: str, stack_id: str, *, mutates: bool) -> Fault:
        """``before`` (nothing happened), ``after`` (it happened, the answer is lost) or none."""
        key = (operation, stack_id)
        roll = self.rng.random()
        lose = self.odds.lost_trigger_answer if operation == "trigger_run" else 0.0
        fault: Fault = "none"
        if roll < lose:
            fault = "after"
        elif roll < lose + self.odds.transient:
            fault = "after" if mutates and self.rng.random() < 0.5 else "before"
        if fault != "none" and self.in_a_row.get(key, 0) >= MAX_FAULTS_IN_A_ROW:
            fault = "none"
        self.in_a_row[key] = self.in_a_row.get(key, 0) + 1 if fault != "none" else 0
        if fault != "none":
            self.injected.append(InjectedFault(self.now(), operation, stack_id, fault))
        return fault


class SimSpacelift:
    """The ``temporal.activities.RunsApi`` of one seed's world."""

    def __init__(self, world: World, faults: CallFaults) -> None:
        self.world = world
        self.faults = faults

    def _call(
        self, operation: str, stack_id: str, act: Callable[[], T], *, mutates: bool = True
    ) -> T:
        fault = self.faults.draw(operation, stack_id, mutates=mutates)
        if fault == "before":
            raise TransientError("sim: connection reset", operation=operation, stack_id=stack_id)
        try:
            result = act()
        except NotFoundError as error:
            if not mutates:
                raise _not_found(self.world, operation, stack_id, error) from error
            raise GraphQLError(str(error), operation=operation, stack_id=stack_id) from error
        except SandboxError as error:  # ConflictError and the like: an errors array
            messages = [str(error)]
            raise GraphQLError(
                str(error), operation=operation, stack_id=stack_id, messages=messages
            ) from error
        if fault == "after":
            raise TransientError("sim: answer lost", operation=operation, stack_id=stack_id)
        return result

    async def trigger_run(self, stack_id: str, *, commit_sha: str | None = None) -> Run:
        """``runTrigger`` as the engine's API key."""
        run = self._call(
            "trigger_run",
            stack_id,
            lambda: self.world.trigger(stack_id, triggered_by=ENGINE, commit_sha=commit_sha),
        )
        return run_model(run)

    async def get_run(self, stack_id: str, run_id: str) -> Run:
        """``stack { run(id) }``."""
        run = self._call(
            "get_run", stack_id, lambda: self.world.run(stack_id, run_id), mutates=False
        )
        return run_model(run)

    async def list_runs(self, stack_id: str, *, before: str | None = None) -> list[Run]:
        """One page of the stack's runs, newest first, older than ``before`` when given."""

        def page() -> list[SimRun]:
            runs = list(reversed(self.world.entry(stack_id).runs))
            if before is not None:
                ids = [run.id for run in runs]
                runs = runs[ids.index(before) + 1 :] if before in ids else []
            return runs[:RUNS_PAGE]

        runs = [run_model(run) for run in self._call("list_runs", stack_id, page, mutates=False)]
        return sorted(runs, key=lambda run: run.created_at, reverse=True)

    async def confirm_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """``runConfirm``."""
        return self._act("confirm", stack_id, run_id, note)

    async def discard_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """``runDiscard``."""
        return self._act("discard", stack_id, run_id, note)

    async def stop_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """``runStop``."""
        return self._act("stop", stack_id, run_id, note)

    async def cancel_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """``runCancel``."""
        return self._act("cancel", stack_id, run_id, note)

    def has_spare_capacity(self) -> bool:
        """The simulation has no rate limit."""
        return True

    def _act(self, verb: str, stack_id: str, run_id: str, note: str | None) -> Run:
        action = getattr(self.world, verb)
        run: SimRun = self._call(
            f"{verb}_run", stack_id, lambda: action(stack_id, run_id, note, ENGINE)
        )
        return run_model(run)


def _not_found(world: World, operation: str, stack_id: str, error: NotFoundError) -> Exception:
    if stack_id not in world.stacks:
        return StackNotFoundError(str(error), operation=operation, stack_id=stack_id)
    return RunNotFoundError(str(error), operation=operation, stack_id=stack_id)
