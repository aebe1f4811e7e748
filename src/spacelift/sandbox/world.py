"""The simulated account's stacks and runs, and every action Spacelift allows on them."""

import bisect
import dataclasses
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from spacelift.models import RunState, RunType
from spacelift.sandbox.config import Outcome, SandboxConfig, SandboxStack
from spacelift.sandbox.lanes import Lane
from spacelift.sandbox.runs import (
    NOT_STARTED_STATES,
    Commit,
    ConflictError,
    NotFoundError,
    RunSource,
    SimRun,
    Transition,
    is_stoppable,
)
from spacelift.sandbox.runtime import Clock, Tasks

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class ConfigElement:
    """An environment variable (or mounted file) set on a stack with ``stackConfigAdd``."""

    id: str
    type: str
    value: str
    write_only: bool
    created_at: float


@dataclass(eq=False)
class StackEntry:
    """A stack as it is now: its spec, tracked commit, runs (oldest first) and queued outcomes."""

    spec: SandboxStack
    tracked_commit: Commit
    runs: list[SimRun] = field(default_factory=list)
    next_outcomes: deque[Outcome] = field(default_factory=deque)
    config: dict[str, ConfigElement] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """The state of the latest TRACKED run that started, or NONE."""
        started = [
            run
            for run in self.runs
            if run.type is RunType.TRACKED and run.reached(RunState.PREPARING)
        ]
        return started[-1].state.value if started else "NONE"


class OnTransition(Protocol):
    """Told of every transition; ``publish=False`` keeps it from the webhook."""

    def __call__(
        self, entry: StackEntry, run: SimRun, transition: Transition, *, publish: bool = True
    ) -> None:
        """Record ``transition`` of ``run`` (and send its webhook when ``publish``)."""


class World:
    """Stacks and their runs; every change of a run's state goes through ``on_transition``."""

    def __init__(
        self, config: SandboxConfig, clock: Clock, tasks: Tasks, on_transition: OnTransition
    ) -> None:
        self.config = config
        self._clock = clock
        self._on_transition = on_transition
        self._rng = random.Random(config.seed)  # noqa: S311 - reproducible ids and failures
        self.stacks = {spec.id: StackEntry(spec, self._commit(spec, 0)) for spec in config.stacks}
        self._runs: list[SimRun] = []
        self._lanes = {spec.id: Lane(spec, self._move, tasks) for spec in config.stacks}

    def _commit(self, spec: SandboxStack, number: int, sha: str | None = None) -> Commit:
        digest = sha or Commit.make_hash(self.config.account, spec.id, number)
        url = f"https://github.com/{self.config.account}/{spec.repository}/commit/{digest}"
        return Commit(digest, timestamp=self._clock.now(), url=url)

    def entry(self, stack_id: str) -> StackEntry:
        """The stack ``stack_id``; ``NotFoundError`` when there is none."""
        if (entry := self.stacks.get(stack_id)) is None:
            raise NotFoundError(f"stack {stack_id!r} not found")
        return entry

    def run(self, stack_id: str, run_id: str) -> SimRun:
        """The run ``run_id`` of ``stack_id``; ``NotFoundError`` when either is missing."""
        for run in self.entry(stack_id).runs:
            if run.id == run_id:
                return run
        raise NotFoundError(f"run {run_id!r} of stack {stack_id!r} not found")

    def all_runs(self) -> list[SimRun]:
        """Every run of every stack, oldest first."""
        return list(self._runs)

    def set_outcomes(self, stack_id: str, outcomes: Iterable[Outcome]) -> None:
        """How the stack's next TRACKED runs end, in order (replaces those not used yet)."""
        self.entry(stack_id).next_outcomes = deque(outcomes)

    def push(self, stack_id: str, commit: Commit | None = None) -> SimRun:
        """A commit lands on the tracked branch: it becomes the tracked commit and runs."""
        entry = self.entry(stack_id)
        number = len(entry.runs) + 1
        landed = self._commit(entry.spec, number)
        if commit is not None:  # keep what was given, fill in the URL and time if missing
            url, at = commit.url or self._commit(entry.spec, 0, commit.hash).url, commit.timestamp
            landed = dataclasses.replace(commit, url=url, timestamp=at or landed.timestamp)
        entry.tracked_commit = landed
        return self._start(entry, RunType.TRACKED, landed, landed.author_login, "push")

    def trigger(
        self,
        stack_id: str,
        *,
        triggered_by: str,
        commit_sha: str | None = None,
        run_type: RunType = RunType.TRACKED,
        source: RunSource = "api",
    ) -> SimRun:
        """``runTrigger`` (or a person's Trigger): a run of ``commit_sha`` or the tracked commit."""
        entry = self.entry(stack_id)
        if entry.spec.is_disabled:
            raise ConflictError(f"stack {stack_id!r} is disabled")
        if run_type not in {RunType.TRACKED, RunType.PROPOSED}:
            raise ConflictError(f"the sandbox does not run {run_type} runs")
        commit = entry.tracked_commit
        if commit_sha is not None and commit_sha != commit.hash:
            commit = self._commit(entry.spec, 0, commit_sha)
        return self._start(entry, run_type, commit, triggered_by, source)

    def retry(self, stack_id: str, run_id: str, *, triggered_by: str) -> SimRun:
        """``runRetry``: a new TRACKED run of the commit of a run that ended without FINISHED."""
        run = self.run(stack_id, run_id)
        if not run.is_terminal or run.state is RunState.FINISHED or run.type is not RunType.TRACKED:
            msg = f"run {run_id} is a {run.type} run in {run.state}: only a failed tracked run"
            raise ConflictError(msg + " can be retried")
        return self._start(self.entry(stack_id), run.type, run.commit, triggered_by, "retry")

    def _start(
        self, entry: StackEntry, run_type: RunType, commit: Commit, by: str, source: RunSource
    ) -> SimRun:
        ordinal = len(entry.runs) + 1
        run = SimRun(
            id=self._new_id(),
            stack_id=entry.spec.id,
            ordinal=ordinal,
            type=run_type,
            commit=commit,
            branch=entry.spec.branch,
            created_at=self._clock.now(),
            triggered_by=by,
            source=source,
            outcome=self._outcome(entry, ordinal, run_type),
            delta=entry.spec.delta,
        )
        entry.runs.append(run)
        self._runs.append(run)
        self._move(run, RunState.QUEUED, username=by, at=run.created_at)
        self._lanes[entry.spec.id].submit(run)
        return run

    def record_finished(
        self, stack_id: str, *, finished_at: float, took: float, by: str, send_webhook: bool
    ) -> SimRun:
        """A TRACKED run that FINISHED at ``finished_at``, put in the stack's history by its time.

        It ran ``took`` seconds, of the tracked commit. It is recorded, not run: no lane, no
        outputs. Only its FINISHED event may be sent, and only with ``send_webhook``.
        """
        entry = self.entry(stack_id)
        started = finished_at - took
        run = SimRun(
            id=self._new_id(started),
            stack_id=stack_id,
            ordinal=len(entry.runs) + 1,
            type=RunType.TRACKED,
            commit=entry.tracked_commit,
            branch=entry.spec.branch,
            created_at=started,
            triggered_by=by,
            source="history",
            outcome=Outcome(),
            delta=entry.spec.delta,
            planned=True,
        )
        for runs in (entry.runs, self._runs):
            runs.insert(bisect.bisect_right(runs, started, key=lambda r: r.created_at), run)
        confirm = [] if entry.spec.autodeploy else [RunState.UNCONFIRMED]
        path = [RunState.QUEUED, RunState.PREPARING, RunState.PLANNING, *confirm]
        path += [RunState.APPLYING, RunState.FINISHED]
        for step, state in enumerate(path):
            at = started + took * step / (len(path) - 1)
            person = by if state in {RunState.QUEUED, RunState.APPLYING} else None
            transition = run.record(state, at, username=person)
            publish = send_webhook and state is RunState.FINISHED
            self._on_transition(entry, run, transition, publish=publish)
        return run

    def _outcome(self, entry: StackEntry, ordinal: int, run_type: RunType) -> Outcome:
        spec = entry.spec
        if run_type is RunType.TRACKED and entry.next_outcomes:
            return entry.next_outcomes.popleft()
        draw = random.Random(f"{self.config.seed}:{spec.id}:{ordinal}").random()  # noqa: S311
        if draw < spec.failure_rate:
            return Outcome(spec.failure_phase)
        return spec.outcome

    def _new_id(self, at: float | None = None) -> str:
        """A ULID, as Spacelift's run ids are: milliseconds, then 80 seeded random bits."""
        when = self._clock.now() if at is None else at
        value = (int(when * 1000) << 80) | self._rng.getrandbits(80)
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))

    def _move(
        self,
        run: SimRun,
        state: RunState,
        note: str | None = None,
        username: str | None = None,
        at: float | None = None,
    ) -> None:
        when = self._clock.now() if at is None else at
        transition = run.record(state, when, note=note, username=username)
        self._on_transition(self.entry(run.stack_id), run, transition)

    # --- acting on runs -----------------------------------------------------------------------

    def _expect(self, run: SimRun, states: Iterable[RunState], action: str) -> None:
        allowed = frozenset(states)
        if run.state not in allowed:
            names = ", ".join(sorted(allowed))
            msg = f"could not {action} run {run.id}: it is {run.state}, not {names}"
            raise ConflictError(msg)

    def confirm(self, stack_id: str, run_id: str, note: str | None, by: str) -> SimRun:
        """``runConfirm``: an UNCONFIRMED run goes on to APPLYING."""
        run = self.run(stack_id, run_id)
        self._expect(run, [RunState.UNCONFIRMED], "confirm")
        self._move(run, RunState.APPLYING, note, by)
        run.decided.set()
        return run

    def discard(self, stack_id: str, run_id: str, note: str | None, by: str) -> SimRun:
        """``runDiscard``: an UNCONFIRMED run ends DISCARDED."""
        run = self.run(stack_id, run_id)
        self._expect(run, [RunState.UNCONFIRMED], "discard")
        self._move(run, RunState.DISCARDED, note, by)
        run.decided.set()
        return run

    def stop(self, stack_id: str, run_id: str, note: str | None, by: str) -> SimRun:
        """``runStop``: a started run that has not ended (not UNCONFIRMED) ends STOPPED."""
        run = self.run(stack_id, run_id)
        if not is_stoppable(run.state):
            msg = (
                f"could not stop run {run.id}: it is {run.state}; only a run that has started "
                "and not ended can be stopped (cancel a queued run, discard an unconfirmed one)"
            )
            raise ConflictError(msg)
        self._move(run, RunState.STOPPED, note, by)
        if run.task is not None:
            run.task.cancel()
        return run

    def cancel(self, stack_id: str, run_id: str, note: str | None, by: str) -> SimRun:
        """``runCancel``: a run not started yet (QUEUED, READY) ends CANCELED."""
        run = self.run(stack_id, run_id)
        self._expect(run, NOT_STARTED_STATES, "cancel")
        self._move(run, RunState.CANCELED, note, by)
        if run.task is not None:
            run.task.cancel()
        return run
