"""``DependencyChain``: runs a frozen sub-graph of stacks in dependency order.

The chain never talks to Spacelift. It asks each stack's lane for a run (see ``lane.py``), hears
back by the ``run_update`` signal, and leaves the rest to :class:`~temporal.chainstate.ChainState`.
"""

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from temporal import search_attributes
    from temporal.activities import LaneActivities
    from temporal.chainstate import (
        ChainState,
        Effects,
        NotAwaitingConfirmationError,
        RunUrl,
        StackNotInChainError,
    )
    from temporal.inputs import (
        CHAIN_WORKFLOW,
        ChainInput,
        ChainStatus,
        ConfirmRequest,
        LaneSignal,
        LaneSignals,
        RunRelease,
        RunRequest,
        RunUpdate,
        StackState,
        lane_id,
    )
    from temporal.workflows import calls
    from temporal.workflows.alarm import Alarm
    from temporal.workflows.calls import call

KEEP_NEWS_AT_CONTINUE_AS_NEW = "chain-keeps-news-at-continue-as-new"
"""Patch: news that arrives while the chain waits to continue as new is handled first (before,
it was dropped with the run it came to)."""
DETAILS_NAMES = 12
"""Stacks named per line of the Web UI's current details; the rest are counted."""
CONTINUE_AS_NEW_AFTER_EVENTS = 8_000
"""Well under Temporal's 10,240-event warning, so a 2,000-stack chain rolls over cleanly."""


@dataclass(frozen=True)
class ApproveRequest:
    """An operator confirms the stack's run that waits in UNCONFIRMED."""

    stack_id: str


@workflow.defn(name=CHAIN_WORKFLOW)
class DependencyChainWorkflow:
    """Runs each stack once its upstreams succeed, at most ``max_parallel`` at once."""

    @workflow.init
    def __init__(self, req: ChainInput) -> None:
        self._state = ChainState(
            workflow.info().workflow_id, req, workflow.now(), patched=workflow.patched
        )
        self._run_url = RunUrl(req.spacelift_url)
        self._updates: list[RunUpdate] = []
        self._cancel_requested = False
        self._published_status = ChainStatus.RUNNING  # what the chain was started with
        self._alarm = Alarm()

    @workflow.signal
    def run_update(self, req: RunUpdate) -> None:
        """A lane reports on the run serving one of this chain's requests."""
        self._updates.append(req)

    @workflow.signal
    def cancel(self) -> None:
        """Stop the chain: nothing more starts, runs in flight are stopped."""
        self._cancel_requested = True

    @workflow.update
    async def approve(self, req: ApproveRequest) -> str:
        """Confirm the stack's UNCONFIRMED run; returns the run id."""
        run_id = self._state.request_confirm(req.stack_id)
        await self._carry_out(self._state.take_effects())
        return run_id

    @approve.validator
    def _validate_approve(self, req: ApproveRequest) -> None:
        """Refuse, before it reaches the history, an approval that cannot apply."""
        try:
            self._state.check_confirmable(req.stack_id)
        except (StackNotInChainError, NotAwaitingConfirmationError) as error:
            raise ApplicationError(str(error), type=type(error).__name__) from None

    @workflow.query
    def status(self) -> dict[str, Any]:
        """The chain as ``GET /api/v1/chains/{id}`` shows it."""
        return self._state.document(self._run_url, None)

    @workflow.run
    async def run(self, req: ChainInput) -> dict[str, Any]:
        """Drive the chain until every stack is in a final state; returns the final status."""
        state = self._state
        while True:
            # One moment per pass: the deadlines are judged at the time the pass began, also after
            # the awaits below. Live, the activation that resumes after ``_carry_out`` can carry
            # the time of the task that began the pass, while its replay carries its own: a
            # deadline between the two armed a timer live and expired at once on replay, so the
            # history did not replay (simulation seeds 19 and 109, kept in integration/histories).
            now = workflow.now()
            self._absorb()
            state.tick(now)
            await self._carry_out(state.take_effects())
            self._publish()
            if state.finished:
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not (self._has_news() and workflow.patched(KEEP_NEWS_AT_CONTINUE_AS_NEW)):
                    workflow.continue_as_new(replace(req, resume=state.snapshot()))
                continue
            self._alarm.set(state.next_deadline(now), now)
            await workflow.wait_condition(lambda: self._has_news() or self._alarm.rang)
            self._alarm.clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return state.document(self._run_url, workflow.now())

    def _has_news(self) -> bool:
        return bool(self._updates) or (self._cancel_requested and not self._state.canceled)

    def _absorb(self) -> None:
        updates, self._updates = self._updates, []
        for update in updates:
            self._state.apply_update(update, workflow.now())
        if self._cancel_requested:
            self._state.cancel()

    async def _carry_out(self, effects: Effects) -> None:
        if not effects:
            return
        calls = [self._request(effects.requests)] if effects.requests else []
        calls += [
            self._tell_lane(s, "release_run", RunRelease(self._id, k)) for s, k in effects.releases
        ]
        calls += [
            self._tell_lane(s, "confirm_run", ConfirmRequest(self._id, run))
            for s, run in effects.confirms
        ]
        await asyncio.gather(*calls)

    async def _tell_lane(
        self, stack_id: str, signal: str, arg: RunRelease | ConfirmRequest
    ) -> None:
        """Signal the stack's lane; a lane that is gone (terminated by hand) is logged only."""
        lane = lane_id(workflow.info().task_queue, stack_id)
        try:
            await workflow.get_external_workflow_handle(lane).signal(signal, arg)
        except FailureError as error:
            workflow.logger.warning("could not reach the lane of %s: %s", stack_id, error)

    async def _request(self, requests: list[tuple[str, str]]) -> None:
        now = workflow.now()
        signals = [
            LaneSignal(stack_id, RunRequest(chain_id=self._id, key=key, not_before=now))
            for stack_id, key in requests
        ]
        await call(
            LaneActivities.request_runs,
            LaneSignals(signals),
            summary=f"ask for runs of {', '.join(stack_id for stack_id, _ in requests)}",
            retry=calls.TEMPORAL,
        )

    @property
    def _id(self) -> str:
        return workflow.info().workflow_id

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return not self._has_news() and (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > CONTINUE_AS_NEW_AFTER_EVENTS
        )

    def _publish(self) -> None:
        """Keep the Web UI's current details and the ``StackchainStatus`` attribute true."""
        state = self._state
        lines = [f"**{state.status.value}**"]
        for label, states in (
            ("running", (StackState.TRIGGERED, StackState.RUNNING)),
            ("awaiting confirmation", (StackState.AWAITING_CONFIRMATION,)),
            ("waiting", (StackState.PENDING,)),
            ("failed", (StackState.FAILED,)),
        ):
            stacks = state.stacks_in(*states)
            if stacks:
                more = (
                    f" and {len(stacks) - DETAILS_NAMES} more"
                    if len(stacks) > DETAILS_NAMES
                    else ""
                )
                lines.append(f"{label}: {', '.join(stacks[:DETAILS_NAMES])}{more}")
        workflow.set_current_details("\n\n".join(lines))
        if state.status != self._published_status:  # an upsert is a history event: only on change
            self._published_status = state.status
            workflow.upsert_search_attributes(
                [search_attributes.STATUS.value_set(state.status.value)]
            )
