"""Activities: the workflows' only way to touch Spacelift and to start other workflows.

Retries belong to Temporal (each call site sets a ``RetryPolicy``); here errors are only sorted
into retryable and not. Permanent Spacelift errors become non-retryable ``ApplicationError``s.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

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
    RunEvent,
    RunRef,
    StartChainRequest,
    TriggeredRun,
    TriggerRequest,
)

CREATED_AT_RESOLUTION = timedelta(seconds=1)
"""Spacelift's ``createdAt`` is whole seconds: a run created in the same second may be ours."""


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


ChainPlanner = Callable[[StartChainRequest], ChainInput | None]
"""Turns a root run into the chain it starts (None when the stack has nothing downstream)."""


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
        created_at=run.created_at,
        has_changes=run.delta.has_changes if run.delta else False,
    )


class SpaceliftActivities:
    """Activities that call Spacelift for a lane."""

    def __init__(self, api: RunsApi) -> None:
        self._api = api

    @activity.defn
    async def trigger_run(self, req: TriggerRequest) -> TriggeredRun:
        """Trigger a tracked run; after a failed attempt, first adopt a run it created."""
        since = req.adopt_since or (req.not_before if activity.info().attempt > 1 else None)
        async with _activity_scope():
            if since is not None:
                adopted = await self._adoptable(req.stack_id, since, req.known_run_ids)
                if adopted is not None:
                    activity.logger.info("adopting run %s of %s", adopted.id, req.stack_id)
                    return TriggeredRun(adopted.id, adopted.created_at, adopted.state.value)
            run = await self._api.trigger_run(req.stack_id)
        return TriggeredRun(run.id, run.created_at, run.state.value)

    async def _adoptable(self, stack_id: str, since: datetime, known: list[str]) -> Run | None:
        """The oldest tracked run created since ``since`` that the lane does not know."""
        earliest = since.replace(microsecond=0) - CREATED_AT_RESOLUTION
        candidates = [
            run
            for run in await self._api.list_runs(stack_id)
            if run.type is RunType.TRACKED and run.created_at >= earliest and run.id not in known
        ]
        return min(candidates, key=lambda run: run.created_at, default=None)

    @activity.defn
    async def get_run(self, req: RunRef) -> RunEvent:
        """Ask Spacelift for a run's state (when no webhook came)."""
        async with _activity_scope():
            run = await self._api.get_run(req.stack_id, req.run_id)
        return run_event(req.stack_id, run)

    @activity.defn
    async def confirm_run(self, req: RunRef) -> None:
        """Confirm a run that waits in UNCONFIRMED."""
        async with _activity_scope():
            await self._api.confirm_run(req.stack_id, req.run_id, note=req.note)

    @activity.defn
    async def stop_run(self, req: RunRef) -> None:
        """End a run nobody needs: cancel it when queued, discard when unconfirmed, else stop."""
        async with _activity_scope():
            if req.state in runstates.QUEUED_STATES:
                await self._api.cancel_run(req.stack_id, req.run_id, note=req.note)
            elif req.state == runstates.UNCONFIRMED:
                await self._api.discard_run(req.stack_id, req.run_id, note=req.note)
            else:
                await self._api.stop_run(req.stack_id, req.run_id, note=req.note)


class LaneActivities:
    """Activities that start or signal workflows (they need a Temporal client, not Spacelift)."""

    def __init__(
        self, client: Client, *, task_queue: str, poll_interval: timedelta, planner: ChainPlanner
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._poll_interval = poll_interval
        self._planner = planner

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
            signal="request_run",
            arg=signal.request,
        )

    @activity.defn
    async def start_chain(self, req: StartChainRequest) -> str | None:
        """Start the chain a root run calls for; None when nothing depends on the stack."""
        chain = await asyncio.to_thread(self._planner, req)  # reads a file: off the event loop
        if chain is None:
            return None
        chain_id = workflows.root_chain_id(req.stack_id, req.run_id)
        async with _activity_scope():
            await workflows.start_chain(
                self._client, task_queue=self._task_queue, chain_id=chain_id, req=chain
            )
        return chain_id
