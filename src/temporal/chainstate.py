"""A chain's state machine, free of Temporal so it can be tested directly.

The :class:`~temporal.workflows.chain.DependencyChainWorkflow` feeds it run updates, operator
commands and the clock, and carries out the effects it asks for (ask a lane for a run, release
a run, confirm a run). Everything here is deterministic: time comes in as an argument.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from spacelift import run_url
from temporal import runstates
from temporal.inputs import (
    ChainInput,
    ChainSnapshot,
    ChainStack,
    ChainStatus,
    Confirm,
    OnFailure,
    RunUpdate,
    StackProgress,
    StackState,
    Trigger,
)

IN_FLIGHT = frozenset({StackState.TRIGGERED, StackState.RUNNING, StackState.AWAITING_CONFIRMATION})
UNCHANGED = "no upstream run in this chain changed resources"
REMEMBER_CHANGES = "chain-remembers-changes-across-attempts"
"""Patch: a retried stack keeps that an earlier attempt changed resources (``on_change``)."""

KEEPS_ITS_PROMISES = "chain-keeps-its-promises"
"""Patch: a run update for a request the chain no longer has is answered with a release (before,
it was ignored, and a run that then waited in UNCONFIRMED kept its lane waiting for ever); and
``stop_chain`` also cancels stacks whose run has not started (queued in a lane or in Spacelift),
where before it let them run."""

Patched = Callable[[str], bool]
"""``workflow.patched`` where the chain runs in a workflow; always True elsewhere."""


class StackNotInChainError(LookupError):
    """An operator named a stack this chain does not run."""


class NotAwaitingConfirmationError(ValueError):
    """An operator approved a stack whose run does not wait in UNCONFIRMED."""


@dataclass
class Effects:
    """What the workflow must do next, collected by the state machine."""

    requests: list[tuple[str, str]] = field(default_factory=list)  # (stack, key)
    releases: list[tuple[str, str]] = field(default_factory=list)  # (stack, key)
    confirms: list[tuple[str, str]] = field(default_factory=list)  # (stack, run id)

    def __bool__(self) -> bool:
        return bool(self.requests or self.releases or self.confirms)


class ChainState:
    """The progress of every stack in one chain."""

    def __init__(
        self, chain_id: str, req: ChainInput, now: datetime, patched: Patched = lambda _: True
    ) -> None:
        self.chain_id = chain_id
        self._patched = patched
        self.input = req
        self.stacks: dict[str, ChainStack] = {stack.id: stack for stack in req.stacks}
        self.run_timeout = timedelta(seconds=req.run_timeout_seconds)
        snapshot = req.resume
        self.started_at = snapshot.started_at if snapshot else now
        self.canceled = snapshot.canceled if snapshot else False
        self.stopped = snapshot.stopped if snapshot else False
        carried = snapshot.progress if snapshot else {}
        self.progress: dict[str, StackProgress] = {
            stack.id: carried.get(stack.id, StackProgress()) for stack in req.stacks
        }
        if req.root_stack not in self.stacks:  # listed as succeeded, with the root run
            self.progress[req.root_stack] = carried.get(req.root_stack) or StackProgress(
                state=StackState.SUCCEEDED,
                run_id=req.root_run_id,
                has_changes=req.root_has_changes,
            )
        self.effects = Effects()

    # --- questions -------------------------------------------------------------------------
    def key(self, stack_id: str) -> str:
        """The request key of the stack's current attempt: unique per chain, stack and attempt."""
        return f"{self.chain_id}/{stack_id}/{self.progress[stack_id].attempts}"

    @property
    def finished(self) -> bool:
        """True when every stack is in a final state."""
        return all(progress.state.is_final for progress in self.progress.values())

    @property
    def status(self) -> ChainStatus:
        """The chain's overall status."""
        if self.canceled:
            return ChainStatus.CANCELED
        if not self.finished:
            return ChainStatus.RUNNING
        if any(p.state == StackState.FAILED for p in self.progress.values()):
            return ChainStatus.FAILED
        return ChainStatus.SUCCEEDED

    def stacks_in(self, *states: StackState) -> list[str]:
        """The chain's stacks in any of ``states``, in the chain's order."""
        return [stack_id for stack_id, p in self.progress.items() if p.state in states]

    def next_deadline(self, now: datetime) -> datetime | None:
        """The earliest moment after ``now`` a timer must wake the chain: a retry or a time-out.

        A retry already due waits for a free slot, which only a run update can give: no timer.
        """
        retries = [p.retry_at for p in self.progress.values() if p.retry_at is not None]
        moments = [moment for moment in retries if moment > now]
        moments += [
            p.requested_at + self.run_timeout
            for p in self.progress.values()
            if p.state in IN_FLIGHT and p.requested_at is not None
        ]
        return min(moments, default=None)

    def snapshot(self) -> ChainSnapshot:
        """Everything the chain needs to carry on in a new run (continue-as-new).

        Stacks nothing has happened to yet are left out: they start pending again.
        """
        untouched = StackProgress()
        return ChainSnapshot(
            started_at=self.started_at,
            progress={stack: p for stack, p in self.progress.items() if p != untouched},
            canceled=self.canceled,
            stopped=self.stopped,
        )

    def take_effects(self) -> Effects:
        """Hand the collected effects to the workflow and start a new collection."""
        effects, self.effects = self.effects, Effects()
        return effects

    # --- inputs ----------------------------------------------------------------------------
    def apply_update(self, update: RunUpdate, now: datetime) -> None:
        """A lane reports on the run serving one of our requests."""
        progress = self.progress.get(update.stack_id)
        wanted = (
            progress is not None
            and progress.state in IN_FLIGHT
            and update.key == self.key(update.stack_id)
        )
        if progress is None or not wanted:
            self._release_unwanted(update)
            return
        if update.error is not None:
            self._attempt_failed(
                update.stack_id, f"trigger failed: {update.error}", now, retry=True
            )
            return
        if update.run_id == progress.run_id and update.state_version < progress.state_version:
            return  # out of order
        progress.run_id = update.run_id
        progress.state_version = update.state_version
        progress.has_changes = update.has_changes
        self._follow_run(update.stack_id, update.state, now)

    def _release_unwanted(self, update: RunUpdate) -> None:
        """Tell the lane the chain no longer has the request a run serves.

        An earlier attempt, a stack that ended, a canceled chain: so a run nobody needs is
        stopped rather than left waiting (in UNCONFIRMED, for ever).
        """
        if update.run_id is None or runstates.is_terminal(update.state):
            return
        if self._patched(KEEPS_ITS_PROMISES):
            self.effects.releases.append((update.stack_id, update.key))

    def _follow_run(self, stack_id: str, run_state: str, now: datetime) -> None:
        progress = self.progress[stack_id]
        if run_state == runstates.RETRYABLE_FAILURE:
            self._attempt_failed(stack_id, "run FAILED", now, retry=True)
        elif run_state in runstates.PERSON_ENDED:
            self._attempt_failed(stack_id, f"run {run_state}", now, retry=False)
        else:
            progress.state = runstates.stack_state_for(run_state)
            if progress.state == StackState.SUCCEEDED:
                progress.reason = None
            elif (
                progress.state == StackState.AWAITING_CONFIRMATION
                and self.stacks[stack_id].policy.confirm == Confirm.AUTO
            ):
                self.request_confirm(stack_id)

    def check_confirmable(self, stack_id: str) -> None:
        """Raise unless the stack's run waits in UNCONFIRMED in this chain.

        Raises:
            StackNotInChainError: the chain does not run the stack.
            NotAwaitingConfirmationError: the stack's run is not waiting for a confirmation.
        """
        progress = self.progress.get(stack_id)
        if progress is None or stack_id not in self.stacks:
            msg = f"stack {stack_id!r} is not in chain {self.chain_id}"
            raise StackNotInChainError(msg)
        if progress.state != StackState.AWAITING_CONFIRMATION:
            msg = f"stack {stack_id!r} is not awaiting confirmation (it is {progress.state.value})"
            raise NotAwaitingConfirmationError(msg)

    def request_confirm(self, stack_id: str) -> str:
        """Ask for the stack's UNCONFIRMED run to be confirmed; returns the run id.

        Raises:
            StackNotInChainError: the chain does not run the stack.
            NotAwaitingConfirmationError: the stack's run is not waiting for a confirmation.
        """
        self.check_confirmable(stack_id)
        progress = self.progress[stack_id]
        assert progress.run_id is not None  # noqa: S101 - set with the UNCONFIRMED update
        if progress.confirm_sent_for != progress.run_id:
            progress.confirm_sent_for = progress.run_id
            self.effects.confirms.append((stack_id, progress.run_id))
        return progress.run_id

    def cancel(self) -> None:
        """An operator cancels: nothing more starts, runs in flight are released."""
        if self.finished:
            return
        self.canceled = True
        for stack_id, progress in self.progress.items():
            if progress.state in IN_FLIGHT:
                self._release(stack_id)
            if not progress.state.is_final:
                progress.state = StackState.CANCELED
                progress.reason = "chain canceled"
                progress.retry_at = None

    def tick(self, now: datetime) -> None:
        """Let time pass: expire runs, settle what waits on upstreams, start what is ready."""
        for stack_id, progress in self.progress.items():
            started = progress.requested_at
            if progress.state in IN_FLIGHT and started and now >= started + self.run_timeout:
                self._release(stack_id)
                self._attempt_failed(stack_id, "run timed out", now, retry=False)
        self._settle_pending()
        self._start_ready(now)

    # --- transitions -----------------------------------------------------------------------
    def _release(self, stack_id: str) -> None:
        """Let the stack's current run go; a confirmation asked for in the same step is not sent.

        Releases and confirmations reach the lane in either order: a confirmation that won
        would apply a run the chain has just given up on.
        """
        self.effects.releases.append((stack_id, self.key(stack_id)))
        kept = [confirm for confirm in self.effects.confirms if confirm[0] != stack_id]
        if len(kept) < len(self.effects.confirms) and self._patched(KEEPS_ITS_PROMISES):
            self.effects.confirms = kept

    def _attempt_failed(self, stack_id: str, reason: str, now: datetime, *, retry: bool) -> None:
        progress = self.progress[stack_id]
        policy = self.stacks[stack_id].policy
        if progress.has_changes and self._patched(REMEMBER_CHANGES):
            progress.changed_earlier = True
        if retry and progress.attempts <= policy.retries and not (self.stopped or self.canceled):
            backoff = policy.retry_backoff_seconds * 2 ** (progress.attempts - 1)
            progress.state = StackState.PENDING
            progress.retry_at = now + timedelta(seconds=backoff)
            progress.reason = f"{reason}; retry {progress.attempts} of {policy.retries}"
            return
        progress.state = StackState.FAILED
        progress.reason = reason
        if policy.on_failure == OnFailure.STOP_CHAIN:
            self._stop(f"chain stopped: {stack_id} failed")

    def _stop(self, reason: str) -> None:
        """``stop_chain``: cancel what has not started; runs that started finish."""
        self.stopped = True
        for other_id, other in self.progress.items():
            if other.state == StackState.TRIGGERED and self._patched(KEEPS_ITS_PROMISES):
                self.effects.releases.append((other_id, self.key(other_id)))
            elif other.state != StackState.PENDING:
                continue
            other.state = StackState.CANCELED
            other.retry_at = None
            other.reason = reason

    def _verdict(self, stack_id: str) -> tuple[StackState | None, str | None]:
        """``(None, None)`` to wait, ``(PENDING, None)`` to go, or a final state and reason."""
        for upstream in self.stacks[stack_id].upstreams:
            progress = self.progress[upstream]
            if progress.state == StackState.CANCELED:
                return StackState.CANCELED, f"upstream {upstream} canceled"
            if progress.state in {StackState.FAILED, StackState.SKIPPED} and not self._done(
                upstream
            ):
                return StackState.SKIPPED, f"upstream {upstream} {progress.state.value}"
            if not progress.state.is_final:
                return None, None
        return StackState.PENDING, None

    def _done(self, stack_id: str) -> bool:
        """True when the stack lets its dependents go."""
        progress = self.progress[stack_id]
        if progress.state == StackState.SUCCEEDED:
            return True
        if progress.state == StackState.SKIPPED:
            return progress.reason == UNCHANGED
        if progress.state == StackState.FAILED and stack_id in self.stacks:
            return self.stacks[stack_id].policy.on_failure == OnFailure.CONTINUE
        return False

    def _changed(self, stack_id: str) -> bool:
        progress = self.progress[stack_id]
        return (
            progress.has_changes or progress.changed_earlier or progress.state == StackState.FAILED
        )

    def _settle_pending(self) -> None:
        """Skip or cancel pending stacks whose upstreams decided it; settles whole sub-trees."""
        for stack in self.stacks.values():  # the chain's stacks come in topological order
            progress = self.progress[stack.id]
            if progress.state != StackState.PENDING or progress.attempts > 0:
                continue
            verdict, reason = self._verdict(stack.id)
            if verdict in {StackState.SKIPPED, StackState.CANCELED}:
                progress.state, progress.reason = verdict, reason
            elif (
                verdict == StackState.PENDING
                and stack.policy.trigger == Trigger.ON_CHANGE
                and stack.upstreams
                and not any(self._changed(upstream) for upstream in stack.upstreams)
            ):
                progress.state, progress.reason = StackState.SKIPPED, UNCHANGED

    def _start_ready(self, now: datetime) -> None:
        if self.stopped or self.canceled:
            return
        slots = self.input.max_parallel - len(self.stacks_in(*IN_FLIGHT))
        for stack in self.stacks.values():
            if slots <= 0:
                return
            progress = self.progress[stack.id]
            if progress.state != StackState.PENDING:
                continue
            if progress.retry_at is not None and progress.retry_at > now:
                continue
            if progress.attempts == 0 and self._verdict(stack.id)[0] != StackState.PENDING:
                continue
            progress.attempts += 1
            progress.state = StackState.TRIGGERED
            progress.requested_at = now
            progress.retry_at = None
            progress.state_version = 0
            self.effects.requests.append((stack.id, self.key(stack.id)))
            slots -= 1

    # --- the status document ---------------------------------------------------------------
    def document(self, run_url: "RunUrl", finished_at: datetime | None) -> dict[str, Any]:
        """The chain as ``GET /api/v1/chains/{id}`` and the ``status`` query show it."""
        stacks = {}
        for stack_id, progress in self.progress.items():
            stack = self.stacks.get(stack_id)
            stacks[stack_id] = {
                "state": progress.state.value,
                "run_id": progress.run_id,
                "run_url": run_url(stack_id, progress.run_id) if progress.run_id else None,
                "attempts": progress.attempts,
                "depends_on": list(stack.upstreams) if stack else [],
                "reason": progress.reason,
            }
        return {
            "chain_id": self.chain_id,
            "root_stack": self.input.root_stack,
            "root_run_id": self.input.root_run_id,
            "status": self.status.value,
            "started_at": self.started_at.isoformat(),
            "finished_at": finished_at.isoformat() if finished_at else None,
            "stacks": stacks,
        }


class RunUrl:
    """Builds a run's web address: ``<endpoint>/stack/<id>/run/<run>``."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")

    def __call__(self, stack_id: str, run_id: str) -> str | None:
        """The run's URL, or None when no endpoint is known."""
        return run_url(self.endpoint, stack_id, run_id) if self.endpoint else None
