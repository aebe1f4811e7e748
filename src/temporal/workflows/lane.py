"""``StackLane``: the one place that triggers and follows a stack's runs.

One lane per stack (workflow id ``stack-<id>``), started on demand by signal-with-start from the
webhook server or a chain. Because only the lane triggers the stack, runs are serialised, chains
that overlap share a run, and events are matched to runs in one place:

- ``run_event`` (webhooks, and the lane's own polling) moves the run it follows; events for runs
  it does not know start a chain when they are a tracked run that FINISHED (a root).
- ``request_run`` asks for a run created after a moment; the lane shares its current run when it
  qualifies, otherwise queues the request and triggers once the current run is over.
- Handling is sequential: signals that arrive while a trigger is in flight wait in the inbox
  until the new run's id is known, so a fast run's events are never mistaken for a root.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from spacelift import RunType
    from temporal import runstates
    from temporal.activities import LaneActivities, SpaceliftActivities
    from temporal.inputs import (
        LANE_WORKFLOW,
        ConfirmRequest,
        LaneInput,
        LaneRun,
        RunEvent,
        RunRef,
        RunRelease,
        RunRequest,
        RunUpdate,
        StartChainRequest,
        TriggerRequest,
    )
    from temporal.workflows import calls
    from temporal.workflows.alarm import Alarm
    from temporal.workflows.calls import call, start

REMEMBERED = 200
"""How many of its own run ids, root run ids and served request keys a lane remembers."""
CONTINUE_AS_NEW_AFTER_EVENTS = 4_000
IDLE_LANES_CANCEL_POLLING = "idle-lanes-cancel-polling"
"""Patch: a lane cancels its poll timer once no chain waits on a running run (histories from
before it let the timer fire, about a poll interval after each run)."""


def _remember(items: list[str], item: str) -> None:
    items.append(item)
    del items[:-REMEMBERED]


@workflow.defn(name=LANE_WORKFLOW)
class StackLaneWorkflow:
    """Serialises one stack's runs and tells waiting chains how they go."""

    @workflow.init
    def __init__(self, req: LaneInput) -> None:
        self._stack = req.stack_id
        self._poll = timedelta(seconds=req.poll_interval_seconds)
        self._current = req.current
        self._queued = list(req.queued)
        self._own_runs = list(req.recent_runs)
        self._roots = list(req.recent_roots)
        self._served = dict(req.served)
        self._events: list[RunEvent] = []
        self._requests: list[RunRequest] = []
        self._releases: list[RunRelease] = []
        self._confirms: list[ConfirmRequest] = []
        self._failed_trigger_since: datetime | None = None
        self._alarm = Alarm()
        self._starting: set[workflow.ActivityHandle[str | None]] = set()

    @workflow.signal
    def run_event(self, req: RunEvent) -> None:
        """A run of this stack changed state (a webhook)."""
        self._events.append(req)

    @workflow.signal
    def request_run(self, req: RunRequest) -> None:
        """A chain needs a run of this stack created at or after ``req.not_before``."""
        self._requests.append(req)

    @workflow.signal
    def release_run(self, req: RunRelease) -> None:
        """A chain no longer needs its run; the run is stopped if nobody else waits on it."""
        self._releases.append(req)

    @workflow.signal
    def confirm_run(self, req: ConfirmRequest) -> None:
        """Confirm the run if it waits in UNCONFIRMED."""
        self._confirms.append(req)

    @workflow.query
    def current_run(self) -> LaneRun | None:
        """The run the lane follows now, if any."""
        return self._current

    @workflow.run
    async def run(self, req: LaneInput) -> None:
        """Serve the stack for ever, continuing as new to keep the history short."""
        while True:
            due = self._poll_due()
            if due is None and workflow.patched(IDLE_LANES_CANCEL_POLLING):
                self._alarm.disarm()
            else:
                self._alarm.set(due)
            await workflow.wait_condition(lambda: self._has_inbox() or self._alarm.rang)
            if self._alarm.rang:
                self._alarm.clear()
                await self._poll_if_due()
            await self._handle_inbox()
            if self._needs_trigger():
                await self._trigger()
            if self._should_continue_as_new():
                await workflow.wait_condition(lambda: not self._starting)
                if not self._has_inbox():
                    workflow.continue_as_new(self._snapshot(req))

    # --- inbox -----------------------------------------------------------------------------
    def _has_inbox(self) -> bool:
        return bool(self._events or self._requests or self._releases or self._confirms)

    async def _handle_inbox(self) -> None:
        events, self._events = self._events, []
        for event in events:
            await self._on_event(event)
        requests, self._requests = self._requests, []
        for request in requests:
            await self._on_request(request)
        releases, self._releases = self._releases, []
        for release in releases:
            await self._on_release(release)
        confirms, self._confirms = self._confirms, []
        for confirm in confirms:
            await self._on_confirm(confirm)

    async def _on_event(self, event: RunEvent) -> None:
        current = self._current
        if current is not None and event.run_id == current.run_id:
            if _is_newer(event, current):
                await self._advance(current, event)
        elif event.run_id not in self._own_runs and self._is_root(event):
            _remember(self._roots, event.run_id)
            self._start_chain(event)

    def _start_chain(self, event: RunEvent) -> None:
        """Start the root's chain in the background, while the lane goes on serving its stack.

        It is retried until Temporal takes it; a file that became invalid, until it is fixed.
        """
        handle = start(
            LaneActivities.start_chain,
            StartChainRequest(self._stack, event.run_id, event.commit_sha, event.has_changes),
            summary=f"start the chain from {self._stack} run {event.run_id}",
            retry=calls.TEMPORAL,
        )
        self._starting.add(handle)
        handle.add_done_callback(self._starting.discard)

    def _is_root(self, event: RunEvent) -> bool:
        """A tracked run that FINISHED, not started by stackchain, seen for the first time."""
        if event.run_type != RunType.TRACKED or event.state != runstates.FINISHED:
            return False
        if event.run_id in self._roots:
            return False
        lost = self._failed_trigger_since
        return not (lost and event.created_at and event.created_at >= lost - timedelta(seconds=1))

    async def _advance(self, run: LaneRun, event: RunEvent) -> None:
        before = runstates.stack_state_for(run.state)
        run.state = event.state
        run.state_version = max(run.state_version, event.state_version or 0)
        run.has_changes = event.has_changes
        run.last_seen = workflow.now()
        run.last_timestamp = event.timestamp or run.last_timestamp
        if runstates.stack_state_for(run.state) != before:
            await self._notify(run, list(run.waiters))

    async def _on_request(self, request: RunRequest) -> None:
        current = self._current
        if request.key in self._served or any(q.key == request.key for q in self._queued):
            served = self._served.get(request.key)
            if current is not None and served == current.run_id:
                await self._notify(current, [request.key])  # a repeat: say again where it is
            return
        if current is not None and current.created_at >= request.not_before:
            current.waiters[request.key] = request.chain_id
            self._serve(request.key, current.run_id)
            await self._notify(current, [request.key])
        else:
            self._queued.append(request)

    async def _on_release(self, release: RunRelease) -> None:
        self._queued = [q for q in self._queued if q.key != release.key]
        if self._current is not None:
            await self._drop_waiter(self._current, release.key)

    async def _drop_waiter(self, run: LaneRun, key: str) -> None:
        """A chain stopped waiting (released the run, or is gone): stop a run nobody needs."""
        if run.waiters.pop(key, None) is None:
            return
        if run.waiters or runstates.is_terminal(run.state) or run.stop_sent:
            return
        run.stop_sent = True
        await self._spacelift(SpaceliftActivities.stop_run, run, "stop", "no chain needs it")

    async def _on_confirm(self, confirm: ConfirmRequest) -> None:
        run = self._current
        if run is None or run.run_id != confirm.run_id or run.confirm_sent:
            return
        if run.state != runstates.UNCONFIRMED:
            return
        run.confirm_sent = True
        await self._spacelift(SpaceliftActivities.confirm_run, run, "confirm", confirm.note)

    async def _spacelift(
        self,
        activity: Callable[[SpaceliftActivities, RunRef], Awaitable[None]],
        run: LaneRun,
        verb: str,
        note: str,
    ) -> None:
        try:
            await call(
                activity,
                RunRef(self._stack, run.run_id, run.state, note),
                summary=f"{verb} {self._stack} run {run.run_id}",
                retry=calls.SPACELIFT,
            )
        except ActivityError as error:
            workflow.logger.warning("could not %s run %s: %s", verb, run.run_id, error.cause)

    # --- polling ---------------------------------------------------------------------------
    def _poll_due(self) -> datetime | None:
        """When to ask Spacelift about the run chains wait on, if no event comes first."""
        run = self._current
        if run is None or runstates.is_terminal(run.state) or not run.waiters:
            return None
        return (run.last_seen or run.created_at) + self._poll

    async def _poll_if_due(self) -> None:
        due = self._poll_due()
        run = self._current
        if run is None or due is None or due > workflow.now():
            return
        run.last_seen = workflow.now()  # the next poll is due an interval from now either way
        try:
            event = await call(
                SpaceliftActivities.get_run,
                RunRef(self._stack, run.run_id),
                summary=f"ask Spacelift for {self._stack} run {run.run_id}",
                retry=calls.SPACELIFT,
            )
        except ActivityError as error:
            workflow.logger.warning("could not read run %s: %s", run.run_id, error.cause)
            return
        self._events.insert(0, event)

    # --- triggering ------------------------------------------------------------------------
    def _needs_trigger(self) -> bool:
        run = self._current
        return bool(self._queued) and (run is None or runstates.is_terminal(run.state))

    async def _trigger(self) -> None:
        started = workflow.now()
        try:
            triggered = await call(
                SpaceliftActivities.trigger_run,
                TriggerRequest(
                    self._stack, started, self._own_runs[-20:], self._failed_trigger_since
                ),
                summary=f"trigger {self._stack}",
                retry=calls.SPACELIFT,
            )
        except ActivityError as error:
            self._failed_trigger_since = self._failed_trigger_since or started
            failed, self._queued = self._queued, []
            reason = str(
                error.cause.message if isinstance(error.cause, ApplicationError) else error
            )
            await asyncio.gather(
                *(
                    self._tell(q.chain_id, RunUpdate(q.key, self._stack, None, "", error=reason))
                    for q in failed
                )
            )
            return
        self._failed_trigger_since = None
        queued, self._queued = self._queued, []
        run = LaneRun(
            run_id=triggered.run_id,
            created_at=triggered.created_at,
            state=triggered.state,
            last_seen=workflow.now(),
            waiters={q.key: q.chain_id for q in queued},
        )
        self._current = run
        _remember(self._own_runs, run.run_id)
        for q in queued:
            self._serve(q.key, run.run_id)
        await self._notify(run, list(run.waiters))

    # --- telling chains --------------------------------------------------------------------
    def _serve(self, key: str, run_id: str) -> None:
        self._served[key] = run_id
        while len(self._served) > REMEMBERED:
            del self._served[next(iter(self._served))]

    async def _notify(self, run: LaneRun, keys: list[str]) -> None:
        keys = [key for key in keys if key in run.waiters]
        told = await asyncio.gather(
            *(
                self._tell(
                    run.waiters[key],
                    RunUpdate(
                        key, self._stack, run.run_id, run.state, run.state_version, run.has_changes
                    ),
                )
                for key in keys
            )
        )
        for key, delivered in zip(keys, told, strict=True):
            if not delivered:
                await self._drop_waiter(run, key)
        if runstates.is_terminal(run.state):
            run.waiters.clear()

    async def _tell(self, chain_id: str, update: RunUpdate) -> bool:
        """Signal a chain; False when it is gone (finished or canceled)."""
        try:
            await workflow.get_external_workflow_handle(chain_id).signal("run_update", update)
        except FailureError:
            return False
        return True

    # --- continue-as-new -------------------------------------------------------------------
    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > CONTINUE_AS_NEW_AFTER_EVENTS
        )

    def _snapshot(self, req: LaneInput) -> LaneInput:
        return LaneInput(
            stack_id=self._stack,
            poll_interval_seconds=req.poll_interval_seconds,
            current=self._current,
            queued=self._queued,
            recent_runs=self._own_runs,
            recent_roots=self._roots,
            served=self._served,
        )


def _is_newer(event: RunEvent, run: LaneRun) -> bool:
    """Drop duplicate and out-of-order events: by ``stateVersion``, else by timestamp."""
    if runstates.is_terminal(run.state):
        return False
    if event.state_version is not None and run.state_version:
        return event.state_version > run.state_version
    if event.timestamp is not None and run.last_timestamp is not None:
        return event.timestamp > run.last_timestamp
    return event.state != run.state
