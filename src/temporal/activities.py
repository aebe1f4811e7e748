"""Activities: the workflows' only way to touch Spacelift and to start other workflows.

Retries belong to Temporal (each call site sets a ``RetryPolicy``); here errors are only sorted
into retryable and not. Permanent Spacelift errors become non-retryable ``ApplicationError``s.
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from spacelift import (
    AuthenticationError,
    GraphQLError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    Run,
    RunType,
    SpaceliftError,
)
from temporal import client as workflows
from temporal import runstates
from temporal.inputs import (
    ChainInput,
    LaneSignal,
    LaneSignals,
    LostRunsRequest,
    LostTrigger,
    ReconcileRequest,
    RunEvent,
    RunRef,
    StartChainRequest,
    TriggeredRun,
    TriggerRequest,
    lane_id,
)

CLOCK_SKEW = timedelta(minutes=2)
"""How far Spacelift's clock (``createdAt``, whole seconds) may be from Temporal's: a run made
by a trigger call is looked for this much either side of the call. Only runs stackchain's own
identity triggered and that the lane does not know are candidates, so the margin is safe."""
SEARCH_PAGES = 10
"""At most this many pages of a stack's runs are read looking back for a lost trigger's run."""


class RunsApi(Protocol):
    """The part of :class:`spacelift.SpaceliftClient` the activities use."""

    async def trigger_run(self, stack_id: str, *, commit_sha: str | None = None) -> Run:
        """Create a tracked run."""

    async def get_run(self, stack_id: str, run_id: str) -> Run:
        """Read one run."""

    async def list_runs(self, stack_id: str, *, before: str | None = None) -> list[Run]:
        """The stack's recent runs, newest first."""

    async def confirm_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Confirm a run waiting in UNCONFIRMED."""

    async def discard_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Discard a run waiting in UNCONFIRMED."""

    async def stop_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Stop a running run."""

    async def cancel_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Cancel a queued run."""

    def has_spare_capacity(self) -> bool:
        """Whether a call now would not wait behind others (background work waits for it)."""


StopCall = Callable[..., Awaitable[Run]]
"""``cancel_run``, ``discard_run`` or ``stop_run`` of :class:`RunsApi`."""

ChainPlanner = Callable[[StartChainRequest], ChainInput | None]
"""Turns a root run into the chain it starts (None when the stack has nothing downstream)."""
RootStacks = Callable[[], list[str]]
"""The stacks of the dependency file that have dependents: where the reconciler looks."""
RECONCILE_INTERVAL = timedelta(minutes=5)
RECONCILE_PACE = 1.0
"""Seconds between two stacks' reads in a reconcile round (at most; less when a round would
not fit in ``RECONCILE_ROUND`` or half the interval). A round also reads only while the
Spacelift client has spare capacity: chains' own calls never queue behind it (a 200-stack round
at full speed held every trigger back for 20 s)."""
RECONCILE_ROUND = 180.0
"""Seconds a round's pauses may add up to: well inside one activity call's limit."""


HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats; well inside the workflows' heartbeat time-out."""


async def _beat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)


@asynccontextmanager
async def _activity_scope() -> AsyncIterator[None]:
    """Heartbeat while the body runs, and sort Spacelift errors into retryable and not."""
    heart = asyncio.create_task(_beat())
    try:
        yield
    except RateLimitedError as error:
        delay = timedelta(seconds=error.retry_after) if error.retry_after else None
        raise ApplicationError(str(error), type="RateLimited", next_retry_delay=delay) from error
    except (AuthenticationError, PermissionDeniedError, NotFoundError, GraphQLError) as error:
        raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from error
    except SpaceliftError as error:
        raise ApplicationError(str(error), type=type(error).__name__) from error
    finally:
        heart.cancel()


def run_event(stack_id: str, run: Run) -> RunEvent:
    """A run as Spacelift reports it, in the shape lanes consume."""
    return RunEvent(
        stack_id=stack_id,
        run_id=run.id,
        state=run.state.value,
        run_type=run.type.value,
        state_version=run.state_version or None,
        timestamp=run.updated_at,
        created_at=run.created_at,
        has_changes=run.delta.has_changes if run.delta else False,
        triggered_by=run.triggered_by,
    )


def _triggered(run: Run) -> TriggeredRun:
    return TriggeredRun(
        run.id,
        run.created_at,
        run.state.value,
        state_version=run.state_version,
        has_changes=run.delta.has_changes if run.delta else False,
        triggered_by=run.triggered_by,
    )


def made_during(created_at: datetime | None, windows: list[LostTrigger], late: timedelta) -> bool:
    """Whether Spacelift may have made a run created at ``created_at`` during one of ``windows``.

    A window is a trigger call whose answer was lost, plus ``late`` for a try that commits
    after it, give or take ``CLOCK_SKEW``. A run whose creation time is unknown may have been.
    """
    return any(
        created_at is None
        or lost.started - CLOCK_SKEW <= created_at <= lost.ended + late + CLOCK_SKEW
        for lost in windows
    )


def _is_ours(run: Run, identity: str, known: set[str]) -> bool:
    """A tracked run stackchain's identity made that the lane does not know."""
    return run.type is RunType.TRACKED and run.id not in known and run.triggered_by == identity


class SpaceliftActivities:
    """Activities that call Spacelift for a lane."""

    def __init__(self, api: RunsApi, *, identity: str | None = None) -> None:
        """Activities on ``api``.

        ``identity``: who Spacelift records as triggering stackchain's runs (``api::<key id>``
        for an API key), when the settings say; else the lanes learn it from answers.
        """
        self._api = api
        self._identity = identity
        self._learnt: str | None = None

    def _who(self, req_identity: str | None) -> str | None:
        """Who triggers stackchain's runs: configured, else what the lane or worker learnt."""
        return self._identity or req_identity or self._learnt

    @activity.defn
    async def trigger_run(self, req: TriggerRequest) -> TriggeredRun:
        """Trigger a tracked run; on a retry of the call, adopt the run an earlier try made.

        Only a run stackchain's identity triggered is adopted. While the identity is unknown
        (a ready token, before any trigger answered), nothing is: a new run is made. Either
        way a retry's answer says an earlier try was lost: a try that timed out may still
        commit after this one, so the lane looks for (and stops) such runs for a while.
        """
        retried = activity.info().attempt > 1
        since = req.adopt_since or (req.not_before if retried else None)
        identity = self._who(req.identity)
        async with _activity_scope():
            if since is not None and identity is not None:
                known = set(req.known_run_ids)
                made = await self._runs_since(req.stack_id, since)
                mine = [run for run in made if _is_ours(run, identity, known)]
                if mine:  # the newest: an older one is an earlier call's, made late (stopped)
                    adopted = max(mine, key=lambda run: run.created_at)
                    activity.logger.info("adopting run %s of %s", adopted.id, req.stack_id)
                    return dataclasses.replace(_triggered(adopted), earlier_try_lost=retried)
            run = await self._api.trigger_run(req.stack_id)
        self._learnt = self._learnt or run.triggered_by
        return dataclasses.replace(_triggered(run), earlier_try_lost=retried)

    @activity.defn
    async def find_lost_runs(self, req: LostRunsRequest) -> list[RunEvent]:
        """The runs that trigger calls the lane gave up on created (to be stopped)."""
        if not req.lost:
            return []
        identity = self._who(req.identity)
        if identity is None:
            msg = "stackchain's identity in Spacelift is not known yet: nothing can be told apart"
            raise ApplicationError(msg, type="IdentityUnknown", non_retryable=True)
        known = set(req.known_run_ids)
        async with _activity_scope():
            since = min(lost.started for lost in req.lost)
            made = await self._runs_since(req.stack_id, since)
        late = timedelta(seconds=req.late_commit_seconds)
        return [
            run_event(req.stack_id, run)
            for run in made
            if _is_ours(run, identity, known) and made_during(run.created_at, req.lost, late)
        ]

    async def _runs_since(self, stack_id: str, since: datetime) -> list[Run]:
        """The stack's runs created since ``since`` (less the clock skew), newest first."""
        earliest = since - CLOCK_SKEW
        runs: list[Run] = []
        before: str | None = None
        for _ in range(SEARCH_PAGES):
            page = await self._api.list_runs(stack_id, before=before)
            runs += [run for run in page if run.created_at >= earliest]
            if not page or page[-1].created_at < earliest:
                break
            before = page[-1].id
        return runs

    @activity.defn
    async def get_run(self, req: RunRef) -> RunEvent:
        """Ask Spacelift for a run's state (when no webhook came)."""
        async with _activity_scope():
            run = await self._api.get_run(req.stack_id, req.run_id)
        return run_event(req.stack_id, run)

    @activity.defn
    async def confirm_run(self, req: RunRef) -> None:
        """Confirm a run that waits in UNCONFIRMED; one that has moved on needs nothing."""
        async with _activity_scope():
            run = await self._api.get_run(req.stack_id, req.run_id)
            if run.state != runstates.UNCONFIRMED:
                return
            try:
                await self._api.confirm_run(req.stack_id, req.run_id, note=req.note)
            except GraphQLError as error:
                msg = f"run {req.run_id} could not be confirmed: {error}"
                raise ApplicationError(msg, type="RunMoved") from error

    @activity.defn
    async def stop_run(self, req: RunRef) -> str:
        """End a run nobody needs, with the call that fits its state as Spacelift says it is.

        Queued runs are cancelled, unconfirmed ones discarded, started ones stopped. When the
        run moved on between the read and the call, Spacelift refuses; the activity fails
        (retryable) and the next try reads the run again. A run that has ended is left alone.
        Returns the run's state as Spacelift gives it after the call.
        """
        async with _activity_scope():
            run = await self._api.get_run(req.stack_id, req.run_id)
            if run.state.is_terminal:
                return run.state.value
            action = self._stop_action(run.state)
            try:
                after = await action(req.stack_id, req.run_id, note=req.note)
            except GraphQLError as error:
                msg = f"run {req.run_id} could not be stopped in {run.state}: {error}"
                raise ApplicationError(msg, type="RunMoved") from error
        return after.state.value

    def _stop_action(self, state: str) -> StopCall:
        if state in runstates.QUEUED_STATES:
            return self._api.cancel_run
        if state == runstates.UNCONFIRMED:
            return self._api.discard_run
        return self._api.stop_run


class LaneActivities:
    """Activities that start or signal workflows, and check roots against Spacelift."""

    def __init__(  # noqa: PLR0913 - the worker's settings, each named
        self,
        client: Client,
        *,
        task_queue: str,
        poll_interval: timedelta,
        planner: ChainPlanner,
        api: RunsApi,
        event_max_age: timedelta = workflows.EVENT_MAX_AGE,
        reconcile_interval: timedelta = RECONCILE_INTERVAL,
        root_stacks: RootStacks = list,
        identity: str | None = None,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._poll_interval = poll_interval
        self._planner = planner
        self._api = api
        self._event_max_age = event_max_age
        self._reconcile_interval = reconcile_interval
        self._root_stacks = root_stacks
        self._identity = identity
        self._cursor = 0

    @activity.defn
    async def request_runs(self, req: LaneSignals) -> None:
        """Deliver a chain's requests to their lanes, starting lanes as needed.

        A retry repeats requests that already arrived; lanes ignore a request key they know.
        """
        async with _activity_scope():
            await asyncio.gather(*(self._request(signal) for signal in req.signals))

    async def _request(self, signal: LaneSignal) -> None:
        await workflows.signal_lane(
            self._client,
            task_queue=self._task_queue,
            stack_id=signal.stack_id,
            poll_interval=self._poll_interval,
            event_max_age=self._event_max_age,
            signal="request_run",
            arg=signal.request,
        )

    @activity.defn
    async def start_chain(self, req: StartChainRequest) -> str | None:
        """Start the chain a root run calls for, once Spacelift confirms it is a real root.

        None when the run is no root (not a TRACKED run of the stack that FINISHED within
        the event age limit: a forged, replayed or stale event) or nothing depends on the
        stack. A run Spacelift still shows in progress fails the try, so Temporal asks again.
        A chain that already ran for this root is done, not an error.
        """
        async with _activity_scope():
            run = await self._api.get_run(req.stack_id, req.run_id)
        if self._not_over_yet(run):
            msg = f"run {run.id} is {run.state} in Spacelift, not over yet: asking again"
            raise ApplicationError(msg, type="RootNotOverYet")
        if problem := self._not_a_root(run, req):
            activity.logger.warning("%s run %s starts no chain: %s", req.stack_id, run.id, problem)
            return None
        has_changes = run.delta.has_changes if run.delta else req.has_changes
        checked = dataclasses.replace(req, has_changes=has_changes)
        chain = await asyncio.to_thread(self._planner, checked)  # reads a file: off the loop
        if chain is None:
            return None
        chain_id = workflows.root_chain_id(req.stack_id, req.run_id)
        try:
            async with _activity_scope():
                await workflows.start_chain(
                    self._client, task_queue=self._task_queue, chain_id=chain_id, req=chain
                )
        except WorkflowAlreadyStartedError:
            activity.logger.info("chain %s has already run", chain_id)
        return chain_id

    def _not_over_yet(self, run: Run) -> bool:
        """Whether Spacelift still shows the root's run going (a replica behind the webhook).

        Such a run is read again, unless Spacelift says it last changed longer ago than the age
        limit (a forged event about a run stuck in a state is not waited on for ever).
        """
        fresh = run.updated_at >= datetime.now(UTC) - self._event_max_age
        return fresh and run.type is RunType.TRACKED and not run.state.is_terminal

    def _not_a_root(self, run: Run, req: StartChainRequest) -> str | None:
        """Why the run starts no chain, or None for a real root.

        Which runs stackchain made is the lane's record's to say: the lane hands over no run it
        knows. ``triggeredBy`` is asked only about a run made during a trigger call whose
        answer the lane lost (its record may lack that run); anywhere else a run triggered with
        stackchain's API key (another tool sharing it) is a root like any other.
        """
        identity = self._identity or req.identity
        if run.type is not RunType.TRACKED:
            return f"a {run.type} run"
        late = timedelta(seconds=req.late_commit_seconds)
        if (
            identity is not None
            and run.triggered_by == identity
            and made_during(run.created_at, req.lost_triggers, late)
        ):
            return "stackchain triggered it, in a trigger call whose answer was lost"
        if run.state != runstates.FINISHED:
            return f"the run is {run.state}, not FINISHED"
        if run.updated_at < datetime.now(UTC) - self._event_max_age:
            return f"it finished at {run.updated_at.isoformat()}, longer ago than the age limit"
        return None

    @activity.defn
    async def reconcile_roots(self, req: ReconcileRequest) -> float:  # noqa: ARG002 - no fields yet
        """Hand the lanes the recent FINISHED tracked runs they have not seen.

        Each goes to its stack's lane exactly as its lost webhook would have. Returns the
        seconds to wait before the next round.
        """
        stacks = await asyncio.to_thread(self._root_stacks)
        fresh_since = datetime.now(UTC) - self._event_max_age
        budget = min(RECONCILE_ROUND, self._reconcile_interval.total_seconds() / 2)
        pause = min(RECONCILE_PACE, budget / max(len(stacks), 1))
        clock = asyncio.get_running_loop().time
        ends = clock() + budget
        for stack_id in self._round(stacks):
            while not self._api.has_spare_capacity() and clock() < ends:  # noqa: ASYNC110 - the limiter has no event to wait on
                await asyncio.sleep(pause)  # chains' calls go first
            if clock() >= ends:
                break  # the next round starts where this one stopped
            await self._reconcile_stack(stack_id, fresh_since)
            await asyncio.sleep(pause)
        return self._reconcile_interval.total_seconds()

    def _round(self, stacks: list[str]) -> Iterator[str]:
        """The stacks from where the last round stopped, each once; remembers where it is."""
        start = self._cursor % len(stacks) if stacks else 0
        for stack_id in stacks[start:] + stacks[:start]:
            yield stack_id
            self._cursor = stacks.index(stack_id) + 1

    async def _reconcile_stack(self, stack_id: str, fresh_since: datetime) -> None:
        try:  # one stack Spacelift will not show must not blind the rest
            runs = await self._api.list_runs(stack_id)
        except SpaceliftError as error:
            activity.logger.warning("could not list the runs of %s: %s", stack_id, error)
            return
        finished = [
            run
            for run in runs
            if run.type is RunType.TRACKED
            and run.state == runstates.FINISHED
            and run.updated_at >= fresh_since
        ]
        await self._hand_over(stack_id, finished)

    async def _hand_over(self, stack_id: str, runs: list[Run]) -> None:
        if not runs:
            return
        lane = self._client.get_workflow_handle(lane_id(self._task_queue, stack_id))
        try:
            unseen = set(await lane.query("unseen_runs", [run.id for run in runs]))
        except RPCError:  # no lane yet (or it cannot answer): the lane decides
            unseen = {run.id for run in runs}
        for run in runs:
            if run.id in unseen:
                activity.logger.info("%s run %s had no webhook: handing it over", stack_id, run.id)
                await workflows.deliver_run_event(
                    self._client,
                    run_event(stack_id, run),
                    task_queue=self._task_queue,
                    poll_interval=self._poll_interval,
                    event_max_age=self._event_max_age,
                )
