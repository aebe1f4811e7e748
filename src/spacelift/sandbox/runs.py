"""Runs as the sandbox keeps them: a commit, a planned outcome and a history of transitions."""

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Literal

from spacelift.models import RunState, RunType
from spacelift.sandbox.config import Delta, Outcome

RunSource = Literal["api", "push", "retry", "person", "history"]
NOT_STARTED_STATES = frozenset({RunState.QUEUED, RunState.READY})
"""A run in these has not started: ``runCancel`` ends it, ``runStop`` does not apply yet."""


def is_stoppable(state: RunState) -> bool:
    """Whether ``runStop`` applies: started and not ended; UNCONFIRMED waits to be discarded."""
    return not (state.is_terminal or state in NOT_STARTED_STATES or state is RunState.UNCONFIRMED)


class SandboxError(Exception):
    """An action Spacelift would refuse; the GraphQL answer carries it in ``errors``."""


class NotFoundError(SandboxError):
    """No stack, run, context, space or attachment with this id."""


class ConflictError(SandboxError):
    """The action does not fit the current state (confirming a run that is not UNCONFIRMED)."""


@dataclass(frozen=True)
class Commit:
    """The commit a run applies."""

    hash: str
    message: str = "Sandbox commit"
    author_login: str = "sandbox-user"
    author_name: str = "Sandbox User"
    timestamp: float = 0.0
    url: str = ""

    @staticmethod
    def make_hash(*parts: object) -> str:
        """A stable, commit-like 40-hex-digit hash of ``parts``."""
        text = ":".join(str(part) for part in parts)
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Transition:
    """One entry of a run's history."""

    state: RunState
    state_version: int
    timestamp: float
    note: str | None = None
    username: str | None = None

    @property
    def terminal(self) -> bool:
        """Whether the run ended with this transition."""
        return self.state.is_terminal


@dataclass(eq=False)
class SimRun:
    """A run of a stack; ``ordinal`` counts the stack's runs from 1 and keys its seeded chaos."""

    id: str
    stack_id: str
    ordinal: int
    type: RunType
    commit: Commit
    branch: str
    created_at: float
    triggered_by: str
    source: RunSource
    outcome: Outcome
    delta: Delta
    history: list[Transition] = field(default_factory=list)
    planned: bool = False
    decided: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: "asyncio.Task[None] | None" = field(default=None, repr=False)

    @property
    def state(self) -> RunState:
        """The current state."""
        return self.history[-1].state

    @property
    def state_version(self) -> int:
        """The version of the current state: 1 for QUEUED, one more at every transition."""
        return self.history[-1].state_version

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended."""
        return self.state.is_terminal

    @property
    def updated_at(self) -> float:
        """When the run last changed state."""
        return self.history[-1].timestamp

    def reached(self, state: RunState) -> bool:
        """Whether the run has been in ``state`` at some point."""
        return any(entry.state is state for entry in self.history)

    def record(
        self, state: RunState, at: float, *, note: str | None = None, username: str | None = None
    ) -> Transition:
        """Append a transition to ``state``; a run that has ended never moves again."""
        if self.history and self.is_terminal:
            msg = f"run {self.id} has ended ({self.state}); it cannot become {state}"
            raise ConflictError(msg)
        version = self.state_version + 1 if self.history else 1
        entry = Transition(state, version, at, note=note, username=username)
        self.history.append(entry)
        return entry
