"""The data that crosses workflow boundaries: workflow inputs, signals and activity arguments.

Frozen dataclasses of plain types, so Temporal's JSON converter carries them and replays stay
deterministic. New fields get defaults, so histories recorded before a field existed still replay.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

CHAIN_WORKFLOW = "DependencyChain"
LANE_WORKFLOW = "StackLane"
RECONCILER_WORKFLOW = "RootReconciler"


def lane_id(task_queue: str, stack_id: str) -> str:
    """The workflow id of a stack's lane: one per stack and deployment, so runs are serialised.

    The task queue names the deployment, so two stackchains (say staging and production) can
    share a Temporal namespace without their lanes meeting.
    """
    return f"stack-{stack_id}@{task_queue}"


class StackState(StrEnum):
    """A stack's state within one chain, as operators see it."""

    PENDING = "pending"
    TRIGGERED = "triggered"
    RUNNING = "running"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """True once nothing more will happen to the stack in this chain."""
        return self in _FINAL_STACK_STATES


_FINAL_STACK_STATES = {
    StackState.SUCCEEDED,
    StackState.FAILED,
    StackState.SKIPPED,
    StackState.CANCELED,
}


class ChainStatus(StrEnum):
    """A chain's overall status."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class OnFailure(StrEnum):
    """What a stack's final failure does to the rest of the chain."""

    SKIP_DEPENDENTS = "skip_dependents"
    CONTINUE = "continue"
    STOP_CHAIN = "stop_chain"


class Confirm(StrEnum):
    """What happens to a run that stops in UNCONFIRMED."""

    AUTO = "auto"
    WAIT = "wait"


class Trigger(StrEnum):
    """When a stack runs at all."""

    ALWAYS = "always"
    ON_CHANGE = "on_change"


@dataclass(frozen=True)
class StackPolicy:
    """One stack's resolved policy from the dependency file."""

    retries: int = 1
    retry_backoff_seconds: float = 60.0
    on_failure: OnFailure = OnFailure.SKIP_DEPENDENTS
    confirm: Confirm = Confirm.WAIT
    trigger: Trigger = Trigger.ALWAYS


@dataclass(frozen=True)
class ChainStack:
    """A stack in a chain: its upstreams within the chain (the root included) and its policy."""

    id: str
    upstreams: list[str] = field(default_factory=list)
    policy: StackPolicy = field(default_factory=StackPolicy)


@dataclass
class StackProgress:
    """Where one stack stands in a chain: the chain's working state, and its snapshot unit."""

    state: StackState = StackState.PENDING
    attempts: int = 0
    run_id: str | None = None
    state_version: int = 0
    has_changes: bool = False
    reason: str | None = None
    requested_at: datetime | None = None
    retry_at: datetime | None = None
    confirm_sent_for: str | None = None
    changed_earlier: bool = False
    """An earlier attempt of the stack in this chain changed resources (``on_change``)."""


@dataclass(frozen=True)
class ChainSnapshot:
    """What a chain carries into its next run when it continues as new."""

    started_at: datetime
    progress: dict[str, StackProgress]
    canceled: bool = False
    stopped: bool = False


@dataclass(frozen=True)
class ChainInput:
    """A chain's frozen sub-graph, the root that started it and how to run it."""

    root_stack: str
    stacks: list[ChainStack]
    root_run_id: str | None = None
    root_commit: str | None = None
    root_has_changes: bool = True
    max_parallel: int = 4
    run_timeout_seconds: float = 7200.0
    spacelift_url: str = ""
    resume: ChainSnapshot | None = None


@dataclass(frozen=True)
class RunEvent:
    """One observed state of a run: from a webhook, or from asking Spacelift."""

    stack_id: str
    run_id: str
    state: str
    run_type: str = "TRACKED"
    state_version: int | None = None
    timestamp: datetime | None = None
    created_at: datetime | None = None
    has_changes: bool = False
    commit_sha: str | None = None
    triggered_by: str | None = None


@dataclass(frozen=True)
class RunRequest:
    """A chain asks a lane for a run of the lane's stack created at or after ``not_before``."""

    chain_id: str
    key: str
    not_before: datetime


@dataclass(frozen=True)
class RunRelease:
    """A chain no longer needs the run it asked for under ``key``."""

    chain_id: str
    key: str


@dataclass(frozen=True)
class ConfirmRequest:
    """A chain asks the lane to confirm ``run_id`` if it waits in UNCONFIRMED."""

    chain_id: str
    run_id: str
    note: str = "confirmed by stackchain"


@dataclass(frozen=True)
class RunUpdate:
    """A lane tells a chain about the run serving its request ``key``."""

    key: str
    stack_id: str
    run_id: str | None
    state: str
    state_version: int = 0
    has_changes: bool = False
    error: str | None = None


@dataclass
class LaneRun:
    """The run a lane follows and the chain requests it serves: the lane's working state."""

    run_id: str
    created_at: datetime
    state: str = "QUEUED"
    state_version: int = 0
    has_changes: bool = False
    last_seen: datetime | None = None
    last_timestamp: datetime | None = None
    waiters: dict[str, str] = field(default_factory=dict)
    confirm_sent: bool = False
    stop_sent: bool = False
    triggered_at: datetime | None = None
    """When the lane began the trigger that made (or adopted) the run, by Temporal's clock."""
    answered_at: datetime | None = None
    """When that trigger answered. Spacelift made the run in between: a request from before
    the trigger began can share it and one from later cannot, whatever Spacelift's clock says
    (histories from before ``lane-knows-its-runs`` compared ``created_at`` in between)."""
    confirm_wanted: bool = False
    """A chain asked for a confirmation that has not gone through yet (retried on each poll)."""


@dataclass(frozen=True)
class LostTrigger:
    """A trigger call the lane gave up on, between two moments of Temporal's clock.

    Spacelift may have created a run during it; until the lane has looked (and stopped what it
    finds), a FINISHED run it does not know could be that run, so it is not taken for a root.
    """

    started: datetime
    ended: datetime


@dataclass(frozen=True)
class StartChainRequest:
    """Activity argument: start the chain a root run calls for."""

    stack_id: str
    run_id: str
    commit_sha: str | None = None
    has_changes: bool = True
    identity: str | None = None
    """Who triggers stackchain's runs, as the lane learnt it (when the settings do not say)."""
    lost_triggers: list[LostTrigger] = field(default_factory=list)
    """The trigger calls whose answer the lane lost and still remembers (searched or settled).
    Only a run made in one of them may be stackchain's without the lane's record saying so:
    there, and only there, a run stackchain's identity triggered is no root."""
    late_commit_seconds: float = 0.0
    """How long after a lost call ended a try of it may still commit (widens each window)."""


@dataclass(frozen=True)
class LaneInput:
    """A stack's lane: which stack, how often to ask Spacelift, and state carried over."""

    stack_id: str
    poll_interval_seconds: float = 60.0
    current: LaneRun | None = None
    queued: list[RunRequest] = field(default_factory=list)
    recent_runs: list[str] = field(default_factory=list)
    """Before age-based memory: the lane's own run ids, newest last (read, no longer written)."""
    recent_roots: list[str] = field(default_factory=list)
    """Before age-based memory: root run ids (read, no longer written)."""
    served: dict[str, str] = field(default_factory=dict)
    own_runs: dict[str, datetime] = field(default_factory=dict)
    """Run ids the lane created, each with the moment it may be forgotten."""
    roots: dict[str, datetime] = field(default_factory=dict)
    """Root run ids the lane started chains for, each with the moment it may be forgotten."""
    lost_triggers: list[LostTrigger] = field(default_factory=list)
    settled_triggers: list[LostTrigger] = field(default_factory=list)
    """Lost trigger calls searched to the end, remembered for the event age limit: a run of
    stackchain's made in one that turns up later committed late, and is stopped."""
    held_roots: list[RunEvent] = field(default_factory=list)
    """FINISHED runs the lane may have made itself: judged once its lost triggers are found."""
    stopping: list[str] = field(default_factory=list)
    """Runs of lost triggers the lane is stopping until Spacelift says they are over."""
    pending_roots: list[StartChainRequest] = field(default_factory=list)
    """Roots whose chain was still being started when the lane continued as new."""
    identity: str | None = None
    """Who Spacelift says triggers stackchain's runs (``triggeredBy``), learnt from answers."""
    event_max_age_seconds: float = 6 * 3600.0


@dataclass(frozen=True)
class TriggerRequest:
    """Activity argument: trigger a tracked run, adopting one a lost answer already created.

    On a retry of the call, a run that an earlier attempt created (``identity``'s, created
    since ``not_before`` and not in ``known_run_ids``) is adopted instead of making a second.
    ``adopt_since`` is read from histories of before lost triggers were searched for.
    """

    stack_id: str
    not_before: datetime
    known_run_ids: list[str] = field(default_factory=list)
    adopt_since: datetime | None = None
    identity: str | None = None


@dataclass(frozen=True)
class TriggeredRun:
    """Activity result: the run that now serves the lane's queued requests."""

    run_id: str
    created_at: datetime
    state: str
    state_version: int = 0
    has_changes: bool = False
    triggered_by: str | None = None
    earlier_try_lost: bool = False
    """The call was retried: an earlier try may have made a run (one that timed out may even
    commit after this answer). The lane looks for it, as for a trigger it gave up on."""


@dataclass(frozen=True)
class LostRunsRequest:
    """Activity argument: find the runs that trigger calls the lane gave up on created."""

    stack_id: str
    lost: list[LostTrigger]
    known_run_ids: list[str]
    identity: str | None = None
    late_commit_seconds: float = 0.0
    """How long after a call ended a try of it may still commit (widens each window)."""


@dataclass(frozen=True)
class RunRef:
    """Activity argument naming one run, with its last known state."""

    stack_id: str
    run_id: str
    state: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class LaneSignal:
    """A request for a lane, delivered by signal-with-start (the lane may not be running)."""

    stack_id: str
    request: RunRequest


@dataclass(frozen=True)
class LaneSignals:
    """Activity argument: the requests a chain makes at once, delivered in one activity."""

    signals: list[LaneSignal]


@dataclass(frozen=True)
class ReconcileRequest:
    """The reconciler's input, and its activity's argument (no options yet)."""
