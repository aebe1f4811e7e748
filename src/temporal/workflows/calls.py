"""How workflows call activities: one set of time-outs, heartbeats and retries for all.

Activities heartbeat while they work, so a worker that dies (SIGKILL, a lost machine) is noticed
within ``HEARTBEAT`` and the call is retried on another worker, however long a Spacelift call
may legitimately take.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

HEARTBEAT = timedelta(seconds=10)
CALL_LIMIT = timedelta(minutes=5)
"""The longest one attempt may take, heartbeats or not."""

SPACELIFT = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=20)
"""Spacelift calls: retried for about ten minutes, then the failure is the chain's to handle."""
TEMPORAL = RetryPolicy(maximum_interval=timedelta(seconds=30))
"""Starting and signalling workflows: retried until Temporal takes it (never lose a request)."""


def start(
    activity: Callable[[Any, ArgT], Awaitable[ResultT]],
    arg: ArgT,
    *,
    summary: str,
    retry: RetryPolicy,
) -> workflow.ActivityHandle[ResultT]:
    """Start an activity method with the standard time-outs, without waiting for it."""
    return workflow.start_activity_method(
        activity,
        arg,
        start_to_close_timeout=CALL_LIMIT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=retry,
        summary=summary[:200],
    )


async def call(
    activity: Callable[[Any, ArgT], Awaitable[ResultT]],
    arg: ArgT,
    *,
    summary: str,
    retry: RetryPolicy,
) -> ResultT:
    """Run an activity method with the standard time-outs and wait for its result."""
    return await start(activity, arg, summary=summary, retry=retry)
