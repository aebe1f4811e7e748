"""``StackLane``: the one place that triggers and follows a stack's runs.

One lane per stack (workflow id ``stack-<id>@<task queue>``), started on demand by
signal-with-start from the webhook server or a chain. Because only the lane triggers the stack,
runs are serialised, chains that overlap share a run, and events are matched to runs in one
place:

- ``run_event`` (webhooks, the reconciler, and the lane's own polling) moves the run it follows;
  a fresh TRACKED run that FINISHED and that the lane did not create is a root: the lane starts
  its chain (the activity reads the run back from Spacelift first).
- ``request_run`` asks for a run created after a moment; the lane shares its current run when it
  qualifies, otherwise queues the request and triggers once the current run is over.
- Handling is sequential: signals that arrive while a trigger is in flight wait in the inbox
  until the new run's id is known, so a fast run's events are never mistaken for a root.
- A trigger the lane gave up on, or retried, may still have made a run: until the lane has
  looked for that run (it is stopped), FINISHED runs it does not know that were made during
  the call are held, not taken for roots.
- A run nobody waits on any more is stopped, and asked about every poll interval and stopped
  again until Spacelift says it is over, so requests queued behind it are never stranded.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from spacelift import RunType
    from temporal import runstates
    from temporal.activities import CLOCK_SKEW, LaneActivities, SpaceliftActivities, made_during
    from temporal.inputs import (
        LANE_WORKFLOW,
        ConfirmRequest,
        LaneInput,
        LaneRun,
        LostRunsRequest,
        LostTrigger,
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
"""How many served request keys a lane remembers (run ids are remembered by age)."""
CONTINUE_AS_NEW_AFTER_EVENTS = 4_000
IDLE_LANES_CANCEL_POLLING = "idle-lanes-cancel-polling"
"""Patch: a lane cancels its poll timer once no chain waits on a running run (histories from
before it let the timer fire, about a poll interval after each run)."""
KEEPS_ITS_PROMISES = "lane-keeps-its-promises"
"""Patch, taken where the lane's behaviour differs from histories recorded before it: stopped
runs are polled and stopped again until over; lost triggers are searched for, their runs
stopped and FINISHED runs held meanwhile; stale events start nothing; a run being stopped, or
that ended other than FINISHED, serves no new request; confirmations are retried; roots still
being started are handed to the next run at continue-as-new instead of waited for."""
KNOWS_ITS_RUNS = "lane-knows-its-runs"
"""Patch: FINISHED runs are held only while stackchain's identity is unknown, only those made
inside a lost trigger's window (give or take the clock skew), and not for ever; windows are
searched again for a while after their end, and remembered for the event age limit, so a try
that commits late is found and stopped; an event stackchain's identity triggered is no root; a
request made while a trigger was in flight queues."""
GOES_BY_ITS_RECORD = "lane-goes-by-its-record"
"""Patch: which runs are stackchain's is the lane's record's to say, not ``triggeredBy``'s
(asked only about runs made in a lost trigger call's window); the record keeps a run for the
event age limit plus the clock skew after the lane last heard of it, so an event still fresh by
Spacelift's clock finds it. Requests released (chains canceled) while the lane looked for a lost
trigger's run are applied before it triggers, so a canceled chain gets no run."""
LATE_COMMIT_POLLS = 2
"""A trigger try that timed out may still commit a little later: its window is searched
again for this many poll intervals after it ended (two minutes at the default interval)."""
STOPPING_NOTE = "no chain needs it"


@workflow.defn(name=LANE_WORKFLOW)
class StackLaneWorkflow:
    """Serialises one stack's runs and tells waiting chains how they go."""

    @workflow.init
    def __init__(self, req: LaneInput) -> None:
        self._stack = req.stack_id
        self._poll = timedelta(seconds=req.poll_interval_seconds)
        self._max_age = timedelta(seconds=req.event_max_age_seconds)
        self._current = req.current
        self._queued = list(req.queued)
        horizon = workflow.now() + self._max_age
        self._own = dict.fromkeys(req.recent_runs, horizon) | req.own_runs
        self._roots = dict.fromkeys(req.recent_roots, horizon) | req.roots
        self._served = dict(req.served)
        self._lost = list(req.lost_triggers)
        self._settled = list(req.settled_triggers)
        self._held = list(req.held_roots)
        self._stopping = list(req.stopping)
        self._identity = req.identity
        self._events: list[RunEvent] = []
        self._requests: list[RunRequest] = []
        self._releases: list[RunRelease] = []
        self._confirms: list[ConfirmRequest] = []
        self._failed_trigger_since: datetime | None = None  # histories from before the patch
        self._search_at: datetime | None = workflow.now() if self._lost else None
        self._stop_at: datetime | None = workflow.now() if self._stopping else None
        self._alarm = Alarm()
        self._starting: dict[workflow.ActivityHandle[str | None], StartChainRequest] = {}

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

    @workflow.query
    def unseen_runs(self, run_ids: list[str]) -> list[str]:
        """Those of ``run_ids`` the lane has never heard of (for the reconciler)."""
        seen = self._own.keys() | self._roots.keys()
        seen |= {event.run_id for event in self._held}
        seen |= {req.run_id for req in self._starting.values()}
        if self._current is not None:
            seen.add(self._current.run_id)
        return [run_id for run_id in run_ids if run_id not in seen]

    @workflow.run
    async def run(self, req: LaneInput) -> None:
        """Serve the stack for ever, continuing as new to keep the history short."""
        for root in req.pending_roots:
            self._start_chain(root)
        while True:
            due = self._next_wake()
            if due is None and workflow.patched(IDLE_LANES_CANCEL_POLLING):
                self._alarm.disarm()
            else:
                self._alarm.set(due)
            await workflow.wait_condition(lambda: self._has_inbox() or self._alarm.rang)
            if self._alarm.rang:
                self._alarm.clear()
                await self._poll_if_due()
                await self._search_if_due()
                await self._stop_orphans_if_due()
            await self._handle_inbox()
            if self._needs_trigger():
                await self._trigger()
            if self._should_continue_as_new():
                if not (self._starting and workflow.patched(KEEPS_ITS_PROMISES)):
                    await workflow.wait_condition(lambda: not self._starting)
                if not self._has_inbox():
                    workflow.continue_as_new(self._snapshot(req))

    def _next_wake(self) -> datetime | None:
        moments = [self._poll_due(), self._search_at, self._stop_at]
        return min((moment for moment in moments if moment is not None), default=None)

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
        elif event.run_id in self._own:  # remembered while events about it still come
            self._remember(self._own, event.run_id)
            if event.run_id in self._stopping and runstates.is_terminal(event.state):
                self._stopping.remove(event.run_id)
        elif self._is_late_lost_run(event):
            self._stop_lost_run(event)
        elif self._is_root(event):
            if self._may_be_lost_run(event):  # the lane looks for its lost runs first
                self._held.append(event)
                if workflow.patched(KNOWS_ITS_RUNS):
                    self._search_at = workflow.now()
            else:
                self._take_root(event)

    def _may_be_lost_run(self, event: RunEvent) -> bool:
        """Whether a trigger the lane gave up on may have made this run, as far as it can tell.

        Once the lane knows its identity, ``_is_root`` and the read-back tell (by who triggered
        the run); before, a run made during a lost trigger's call may be the lane's own.
        """
        if not workflow.patched(KNOWS_ITS_RUNS):
            return bool(self._lost)
        return self._identity is None and self._made_during(event, self._lost)

    def _is_late_lost_run(self, event: RunEvent) -> bool:
        """Whether the run is a lost trigger try's that committed after the lane stopped looking.

        That is: stackchain's identity triggered it, the lane does not know it, and Spacelift
        made it during a trigger call the lane gave up on or retried.
        """
        if self._identity is None or event.triggered_by != self._identity:
            return False
        windows = self._lost + self._settled
        return (
            bool(windows) and workflow.patched(KNOWS_ITS_RUNS) and self._made_during(event, windows)
        )

    def _made_during(self, event: RunEvent, windows: list[LostTrigger]) -> bool:
        """Whether Spacelift may have made the run during one of ``windows``.

        A window is the trigger call, plus the time a try may take to commit after it, give or
        take the clock skew.
        """
        return made_during(event.created_at, windows, self._poll * LATE_COMMIT_POLLS)

    def _take_root(self, event: RunEvent) -> None:
        """Start the run's chain.

        The read-back asks ``triggeredBy`` only about a run made in one of the lost trigger
        calls the lane remembers, where its record may lack the run.
        """
        self._remember(self._roots, event.run_id)
        self._start_chain(
            StartChainRequest(
                self._stack,
                event.run_id,
                event.commit_sha,
                event.has_changes,
                self._identity,
                lost_triggers=self._lost + self._settled,
                late_commit_seconds=(self._poll * LATE_COMMIT_POLLS).total_seconds(),
            )
        )

    def _start_chain(self, req: StartChainRequest) -> None:
        """Start the root's chain in the background, while the lane goes on serving its stack.

        The activity reads the run back from Spacelift, and is retried until Temporal takes the
        chain (a file that became invalid, until it is fixed).
        """
        handle = start(
            LaneActivities.start_chain,
            req,
            summary=f"start the chain from {self._stack} run {req.run_id}",
            retry=calls.TEMPORAL,
        )
        self._starting[handle] = req
        handle.add_done_callback(self._chain_started)

    def _chain_started(self, handle: workflow.ActivityHandle[str | None]) -> None:
        """A root's chain started, or the run was no root.

        If starting failed, the root is forgotten, so a redelivery or the reconciler hands it
        over again.
        """
        req = self._starting.pop(handle, None)
        if req is not None and not handle.cancelled() and handle.exception() is not None:
            workflow.logger.warning("no chain from run %s: %s", req.run_id, handle.exception())
            self._roots.pop(req.run_id, None)

    def _is_root(self, event: RunEvent) -> bool:
        """A fresh tracked run that FINISHED, not created by stackchain, seen for the first time.

        Not created by stackchain: not in the lane's record (``_on_event`` asks it first). A run
        triggered with stackchain's identity that the record lacks is a root, unless it was
        made in a lost trigger call's window (``_is_late_lost_run``, and the read-back).
        """
        if event.run_type != RunType.TRACKED or event.state != runstates.FINISHED:
            return False
        if event.run_id in self._roots or any(h.run_id == event.run_id for h in self._held):
            return False
        seen_at = event.timestamp or event.created_at
        stale = seen_at is not None and seen_at < workflow.now() - self._max_age
        if stale and workflow.patched(KEEPS_ITS_PROMISES):
            return False
        ours = self._identity is not None and event.triggered_by == self._identity
        if ours and workflow.patched(KNOWS_ITS_RUNS) and not workflow.patched(GOES_BY_ITS_RECORD):
            return False  # histories from before: triggeredBy alone said "stackchain's run"
        lost = self._failed_trigger_since
        return not (lost and event.created_at and event.created_at >= lost - timedelta(seconds=1))

    async def _advance(self, run: LaneRun, event: RunEvent) -> None:
        before = runstates.stack_state_for(run.state)
        run.state = event.state
        run.state_version = max(run.state_version, event.state_version or 0)
        run.has_changes = event.has_changes
        run.last_seen = workflow.now()
        run.last_timestamp = event.timestamp or run.last_timestamp
        self._remember(self._own, run.run_id)
        if runstates.stack_state_for(run.state) != before:
            await self._notify(run, list(run.waiters))

    async def _on_request(self, request: RunRequest) -> None:
        current = self._current
        known = request.key in self._served or any(q.key == request.key for q in self._queued)
        failed = self._served.get(request.key) == ""
        if known and failed and not workflow.patched(KEEPS_ITS_PROMISES):
            known = False  # histories from before: a failed request's repeat was queued again
        if known:
            served = self._served.get(request.key)
            if current is not None and served == current.run_id:
                await self._notify(current, [request.key])  # a repeat: say again where it is
            return
        if current is not None and self._can_share(current, request):
            current.waiters[request.key] = request.chain_id
            self._serve(request.key, current.run_id)
            await self._notify(current, [request.key])
        else:
            self._queued.append(request)

    def _can_share(self, run: LaneRun, request: RunRequest) -> bool:
        """Whether ``run`` can serve ``request``: made after it was asked for, and live.

        Made after: by the lane's own clock (``LaneRun.triggered_at``), so Spacelift's clock
        need not agree with Temporal's. A request made while the trigger was in flight queues:
        the run may be older than it (Spacelift's ``createdAt`` is whole seconds, on a clock
        that may be ahead, and a retried trigger may have adopted an earlier try's run). A run
        being stopped, or that ended other than FINISHED, would hand the chain a failure it did
        not have.
        """
        before = run.created_at >= request.not_before
        answered_before = run.answered_at is not None and run.answered_at < request.not_before
        if run.triggered_at is not None and run.triggered_at >= request.not_before:
            made_after = True
        elif answered_before or (run.answered_at is not None and workflow.patched(KNOWS_ITS_RUNS)):
            made_after = False
        else:
            made_after = before
        live = not run.stop_sent and (
            not runstates.is_terminal(run.state) or run.state == runstates.FINISHED
        )
        now = made_after and live
        if now != before and not workflow.patched(KEEPS_ITS_PROMISES):
            return before
        return now

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
        await self._spacelift(SpaceliftActivities.stop_run, run.run_id, "stop", STOPPING_NOTE)

    async def _on_confirm(self, confirm: ConfirmRequest) -> None:
        run = self._current
        if run is None or run.run_id != confirm.run_id or run.confirm_sent:
            return
        if run.state != runstates.UNCONFIRMED:
            return
        run.confirm_wanted = True
        await self._confirm(run, confirm.note)

    async def _confirm(self, run: LaneRun, note: str) -> None:
        run.confirm_sent = True
        confirmed = await self._spacelift(
            SpaceliftActivities.confirm_run, run.run_id, "confirm", note
        )
        if not confirmed and workflow.patched(KEEPS_ITS_PROMISES):
            run.confirm_sent = False  # asked again at the next poll while it is UNCONFIRMED

    async def _spacelift(
        self,
        activity: Callable[[SpaceliftActivities, RunRef], Awaitable[object]],
        run_id: str,
        verb: str,
        note: str,
    ) -> bool:
        """Confirm or stop a run; False (logged) when Spacelift would not, after retries."""
        try:
            await call(
                activity,
                RunRef(self._stack, run_id, note=note),
                summary=f"{verb} {self._stack} run {run_id}",
                retry=calls.SPACELIFT,
            )
        except ActivityError as error:
            workflow.logger.warning("could not %s run %s: %s", verb, run_id, error.cause)
            return False
        return True

    # --- polling ---------------------------------------------------------------------------
    def _poll_due(self) -> datetime | None:
        """When to ask Spacelift about the current run, if no event comes first.

        While chains wait on it; and, once nobody does, until it is over (it is being stopped,
        and a lost STOPPED webhook must not strand the requests queued behind it).
        """
        run = self._current
        if run is None or runstates.is_terminal(run.state):
            return None
        if not run.waiters and not workflow.patched(KEEPS_ITS_PROMISES):
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
        if runstates.is_terminal(event.state):
            return
        if not run.waiters:  # stopped, yet not over: stop it again
            await self._spacelift(SpaceliftActivities.stop_run, run.run_id, "stop", STOPPING_NOTE)
        elif run.confirm_wanted and not run.confirm_sent and event.state == runstates.UNCONFIRMED:
            await self._confirm(run, "confirmed by stackchain")

    # --- lost triggers ---------------------------------------------------------------------
    async def _search_if_due(self) -> None:
        if self._search_at is not None and self._search_at <= workflow.now():
            await self._search_lost_runs()

    async def _search_lost_runs(self) -> bool:
        """Find the runs of triggers the lane gave up on: they are the lane's, and stopped.

        A window is searched again every poll interval for ``LATE_COMMIT_POLLS`` intervals
        after its end (a try that timed out may still commit). Then the FINISHED runs held
        meanwhile are judged again. False when Spacelift could not be asked (the lane asks
        again a poll interval later).
        """
        try:
            found = await call(
                SpaceliftActivities.find_lost_runs,
                LostRunsRequest(
                    self._stack,
                    self._lost,
                    list(self._own),
                    self._identity,
                    (self._poll * LATE_COMMIT_POLLS).total_seconds(),
                ),
                summary=f"look for runs of {len(self._lost)} lost trigger(s) of {self._stack}",
                retry=calls.SPACELIFT,
            )
        except ActivityError as error:
            workflow.logger.warning("could not look for lost runs: %s", error.cause)
            self._search_at = workflow.now() + self._poll
            if self._identity is None and workflow.patched(KNOWS_ITS_RUNS):
                self._release_held(self._held_too_long)
            return False
        now = workflow.now()
        for event in found:
            if workflow.patched(KNOWS_ITS_RUNS):
                self._identity = self._identity or event.triggered_by
            self._stop_lost_run(event)
        if workflow.patched(KNOWS_ITS_RUNS):
            late = self._poll * LATE_COMMIT_POLLS
            self._settled += [lost for lost in self._lost if lost.ended + late <= now]
            self._settled = [lost for lost in self._settled if lost.ended + self._max_age > now]
            self._lost = [lost for lost in self._lost if lost.ended + late > now]
            self._search_at = min(
                (min(now + self._poll, lost.ended + late) for lost in self._lost),
                default=None,
            )
        else:
            self._lost, self._search_at = [], None
        self._release_held(lambda _: True)  # the runs that are the lane's were found
        await self._stop_orphans_if_due()
        return True

    def _stop_lost_run(self, event: RunEvent) -> None:
        """A run a lost trigger try made is the lane's: remembered, and stopped until over."""
        workflow.logger.warning("run %s was made by a lost trigger: stopping it", event.run_id)
        self._remember(self._own, event.run_id)
        if not runstates.is_terminal(event.state):
            self._stopping.append(event.run_id)
            self._stop_at = workflow.now()

    def _release_held(self, judged: Callable[[RunEvent], bool]) -> None:
        """Take the held runs that ``judged`` picks for roots, unless they are the lane's."""
        held, self._held = self._held, []
        for event in held:
            if event.run_id in self._own:
                continue
            if judged(event):
                self._take_root(event)
            else:
                self._held.append(event)

    def _held_too_long(self, event: RunEvent) -> bool:
        """Whether a held run must be judged now, before its chain would be refused as stale.

        Only while stackchain's identity is unknown (a token, and no trigger ever answered), so
        nobody can tell whether the lane made it: a chain from a run that applied beats a lost
        chain.
        """
        seen_at = event.timestamp or event.created_at
        late = seen_at is None or seen_at < workflow.now() - self._max_age / 2
        if late:
            workflow.logger.warning(
                "run %s may be a lost trigger's (identity unknown): taken for a root", event.run_id
            )
        return late

    async def _stop_orphans_if_due(self) -> None:
        """Stop the lost triggers' runs, again every poll interval until each is over."""
        if self._stop_at is None or self._stop_at > workflow.now():
            return
        for run_id in list(self._stopping):
            try:
                state = await call(
                    SpaceliftActivities.stop_run,
                    RunRef(self._stack, run_id, note="made by a trigger stackchain gave up on"),
                    summary=f"stop {self._stack} run {run_id}",
                    retry=calls.SPACELIFT,
                )
            except ActivityError as error:
                workflow.logger.warning("could not stop run %s: %s", run_id, error.cause)
                continue
            if workflow.patched(GOES_BY_ITS_RECORD):
                self._remember(self._own, run_id)  # heard of now: kept as long as its events
            if state is not None and runstates.is_terminal(state):
                self._stopping.remove(run_id)
        self._stop_at = workflow.now() + self._poll if self._stopping else None

    # --- triggering ------------------------------------------------------------------------
    def _needs_trigger(self) -> bool:
        run = self._current
        return bool(self._queued) and (run is None or runstates.is_terminal(run.state))

    async def _trigger(self) -> None:
        searched = not self._lost or await self._search_lost_runs()
        if self._has_inbox() and workflow.patched(GOES_BY_ITS_RECORD):
            await self._handle_inbox()  # what came during the search: a cancel, a new request
            if not self._needs_trigger():
                return
        if not searched and self._identity is not None:  # unknown: a new answer will tell
            await self._fail_queued("could not look for the run of a lost trigger call first")
            return
        started = workflow.now()
        try:
            triggered = await call(
                SpaceliftActivities.trigger_run,
                TriggerRequest(
                    self._stack,
                    started,
                    list(self._own),
                    self._failed_trigger_since,
                    self._identity,
                ),
                summary=f"trigger {self._stack}",
                retry=calls.SPACELIFT,
            )
        except ActivityError as error:
            if workflow.patched(KEEPS_ITS_PROMISES):
                self._lost.append(LostTrigger(started, workflow.now()))
                self._search_at = workflow.now()
            else:
                self._failed_trigger_since = self._failed_trigger_since or started
            cause = error.cause
            await self._fail_queued(
                str(cause.message if isinstance(cause, ApplicationError) else error)
            )
            return
        self._failed_trigger_since = None
        self._identity = self._identity or triggered.triggered_by
        if triggered.earlier_try_lost:
            self._lost.append(LostTrigger(started, workflow.now()))
        if self._lost:
            self._search_at = workflow.now()  # the identity is known now: look at once
        queued, self._queued = self._queued, []
        run = LaneRun(
            run_id=triggered.run_id,
            created_at=triggered.created_at,
            state=triggered.state,
            state_version=triggered.state_version,
            has_changes=triggered.has_changes,
            last_seen=workflow.now(),
            waiters={q.key: q.chain_id for q in queued},
            triggered_at=started,
            answered_at=workflow.now(),
        )
        self._current = run
        self._remember(self._own, run.run_id)
        for q in queued:
            self._serve(q.key, run.run_id)
        await self._notify(run, list(run.waiters))

    async def _fail_queued(self, reason: str) -> None:
        """Tell the queued requests' chains the trigger failed; a repeat of one is ignored."""
        failed, self._queued = self._queued, []
        for q in failed:
            self._serve(q.key, "")
        await asyncio.gather(
            *(
                self._tell(q.chain_id, RunUpdate(q.key, self._stack, None, "", error=reason))
                for q in failed
            )
        )

    # --- memory ----------------------------------------------------------------------------
    def _remember(self, memory: dict[str, datetime], run_id: str) -> None:
        """Remember a run id for as long as events about it are accepted; forget older ones.

        An event is accepted for the age limit by its own time, on Spacelift's clock, which may
        be up to ``CLOCK_SKEW`` ahead of Temporal's: the record keeps the run that much longer.
        """
        now = workflow.now()
        horizon = self._max_age
        if workflow.patched(GOES_BY_ITS_RECORD):
            horizon += CLOCK_SKEW
        memory.pop(run_id, None)
        memory[run_id] = now + horizon  # newest last
        while memory and next(iter(memory.values())) < now:
            del memory[next(iter(memory))]

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
            served=self._served,
            own_runs=self._own,
            roots=self._roots,
            lost_triggers=self._lost,
            settled_triggers=self._settled,
            held_roots=self._held,
            stopping=self._stopping,
            pending_roots=list(self._starting.values()),
            identity=self._identity,
            event_max_age_seconds=req.event_max_age_seconds,
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
