"""From a parsed webhook body to the engine's :class:`~temporal.inputs.RunEvent`.

Neither the notification-policy shape nor a default payload without ``delta`` says whether the
run changed resources; such events count as changed, so a ``trigger: on_change`` dependent is
never skipped on a guess (the lane's own polling reads the real delta).

Both shapes say who triggered the run (``run.triggeredBy``, ``run_updated.run.triggered_by``);
the lane uses it only to tell its own runs from others' where its record of the runs it made
cannot (a trigger call whose answer was lost).

An event's own time is the default shape's ``timestamp`` or the policy shape's ``updated_at``;
:func:`is_stale` judges it against ``STACKCHAIN_EVENT_MAX_AGE``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.web.webhooks.models import NANOSECONDS, PolicyEvent, RunStateEvent
from temporal.inputs import RunEvent


@dataclass(frozen=True)
class Delivery:
    """A run event and its duplicate key: (shape, run id, state, stateVersion or updated_at)."""

    event: RunEvent
    key: tuple[str, ...]


def _seconds(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _nanos(value: int | None) -> datetime | None:
    if value is None:
        return None
    seconds, nanos = divmod(value, NANOSECONDS)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000)


def to_delivery(body: RunStateEvent | PolicyEvent) -> Delivery:
    """The engine's event for either payload shape."""
    if isinstance(body, RunStateEvent):
        run, delta = body.run, body.run.delta
        changed = True if delta is None else delta.added + delta.changed + delta.deleted > 0
        event = RunEvent(
            stack_id=body.stack.id,
            run_id=run.id,
            state=body.state,
            run_type=run.type,
            state_version=body.state_version,
            timestamp=_seconds(body.timestamp),
            created_at=_seconds(run.created_at),
            has_changes=changed,
            commit_sha=run.commit.hash if run.commit else None,
            triggered_by=run.triggered_by,
        )
        return Delivery(event, ("default", run.id, body.state, str(body.state_version)))
    updated = body.run_updated
    policy_run = updated.run
    event = RunEvent(
        stack_id=updated.stack.id,
        run_id=policy_run.id,
        state=updated.state,
        run_type=policy_run.type,
        state_version=None,
        timestamp=_nanos(policy_run.updated_at),
        created_at=_nanos(policy_run.created_at),
        has_changes=True,
        commit_sha=policy_run.commit.hash if policy_run.commit else None,
        triggered_by=policy_run.triggered_by,
    )
    key = ("policy", policy_run.id, updated.state, str(policy_run.updated_at))
    return Delivery(event, key)


def is_stale(event: RunEvent, now: datetime, max_age: timedelta) -> bool:
    """Whether the event happened more than ``max_age`` before ``now``, by its own time.

    Exactly ``max_age`` old is not stale yet. An event without a time (the default shape's
    ``timestamp`` is optional) cannot be judged and is not stale; neither is one from the future
    (clocks drift): the lane still checks the run itself before a chain starts.
    """
    return event.timestamp is not None and now - event.timestamp > max_age
