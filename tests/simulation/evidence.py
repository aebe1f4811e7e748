"""What Temporal says a chain did: its final (or current) document and every run update it got.

Read from the server, not from the worker: ``describe`` and ``result`` of the chain, and the
``run_update`` signals in the histories of all its runs (followed back across continue-as-new).
The updates tell which run served which attempt (request key ``chain/stack/attempt``). The same
histories say when the chain asked for each attempt's run, when it asked for a run to be
confirmed, when it let each go (its ``release_run`` signals to the lanes) and when an operator's
``cancel`` reached it.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError

from spacelift.models import RunState
from spacelift.sandbox.runs import SimRun
from temporal.inputs import (
    CHAIN_WORKFLOW,
    ConfirmRequest,
    LaneSignals,
    RunRelease,
    RunUpdate,
    StartChainRequest,
    lane_id,
)
from tests.simulation.scenario import ENGINE, Scenario

QUERY_SECONDS = 5.0


@dataclass
class ChainRecord:
    """One chain as Temporal knows it; ``status`` None when no such workflow exists."""

    chain_id: str
    status: WorkflowExecutionStatus | None = None
    document: dict[str, Any] | None = None
    updates: list[RunUpdate] = field(default_factory=list)
    executions: int = 0
    problem: str | None = None
    requested: dict[str, datetime] = field(default_factory=dict)
    """Request key -> when the chain asked for the attempt's run (the request's ``not_before``)."""
    released: dict[str, datetime] = field(default_factory=dict)
    """Request key -> when the chain first told the lane it no longer needs the run (Temporal's
    time of the ``release_run`` signal)."""
    confirms: dict[str, datetime] = field(default_factory=dict)
    """Run id -> when the chain first asked its lane to confirm it (``confirm_run``)."""
    canceled_at: datetime | None = None
    """When the first ``cancel`` signal reached the chain, if one did."""

    def attempt_runs(self, stack_id: str) -> dict[int, set[str]]:
        """Which runs the lanes reported for each of the stack's attempts."""
        runs: dict[int, set[str]] = {}
        for update in self.updates:
            chain, _, rest = update.key.rpartition("/")
            if update.stack_id == stack_id and update.run_id is not None and chain:
                runs.setdefault(int(rest), set()).add(update.run_id)
        return runs


@dataclass(frozen=True)
class Violation:
    """An invariant that did not hold, and why."""

    invariant: str
    evidence: str


class InjectedFault(NamedTuple):
    """A fault the seed put on one Spacelift call: when (sandbox clock), on what, and which."""

    at: float
    operation: str
    stack_id: str
    fault: str


@dataclass
class Evidence:
    """Everything one seed left behind."""

    scenario: Scenario
    runs: list[SimRun]
    chains: dict[str, "ChainRecord"]
    chain_stacks: dict[str, list[str]]
    chain_roots: dict[str, str]
    canceled: set[str]
    planned: list[StartChainRequest]
    restart_slack: float
    faults: list[InjectedFault] = field(default_factory=list)
    lost_webhooks: list[tuple[str, str]] = field(default_factory=list)
    stale_lanes: dict[str, str] = field(default_factory=dict)
    """Stack -> how its lane still follows a run that Spacelift says has ended."""
    started_at: float = 0.0
    """The sandbox clock (unix seconds) when the seed started: the planned actions' zero."""
    replay_failures: dict[str, str] = field(default_factory=dict)
    """Workflow run -> why its history does not replay, or which of its tasks failed live."""

    def run(self, run_id: str | None) -> SimRun | None:
        return next((run for run in self.runs if run.id == run_id), None)

    def engine_runs(self, stack_id: str) -> list[SimRun]:
        return [r for r in self.runs if r.stack_id == stack_id and r.triggered_by == ENGINE]


async def collect_chain(client: Client, chain_id: str) -> ChainRecord:
    """The chain's record; a chain still running is asked for its ``status``."""
    record = ChainRecord(chain_id)
    handle = client.get_workflow_handle(chain_id)
    try:
        description = await handle.describe()
    except RPCError:
        return record
    record.status = description.status
    if description.status == WorkflowExecutionStatus.RUNNING:
        try:
            record.document = await asyncio.wait_for(handle.query("status"), QUERY_SECONDS)
        except (RPCError, TimeoutError) as error:
            record.problem = f"status query failed: {error!r}"
    else:
        try:
            record.document = await handle.result()
        except WorkflowFailureError as error:
            record.problem = f"the chain workflow failed: {error.cause!r}"
    await _read_histories(client, record, description.run_id)
    return record


async def _read_histories(client: Client, record: ChainRecord, run_id: str | None) -> None:
    """Fill in the record from the histories of all the chain's runs (walking back from the
    newest across continue-as-new; the updates come out oldest first)."""
    runs: list[list[RunUpdate]] = []
    while run_id:
        history = await client.get_workflow_handle(record.chain_id, run_id=run_id).fetch_history()
        updates, run_id = [], None
        for event in history.events:
            run_id = _continued_from(event) or run_id
            if (update := await _run_update(client, event)) is not None:
                updates.append(update)
            await _note_moments(client, record, event)
        runs.insert(0, updates)
    record.updates = [update for run in runs for update in run]
    record.executions = len(runs)


async def _run_update(client: Client, event: HistoryEvent) -> RunUpdate | None:
    attrs = event.workflow_execution_signaled_event_attributes
    if not event.HasField("workflow_execution_signaled_event_attributes"):
        return None
    if attrs.signal_name != "run_update":
        return None
    decoded = await client.data_converter.decode(attrs.input.payloads, [RunUpdate])
    update: RunUpdate = decoded[0]
    return update


async def _note_moments(client: Client, record: ChainRecord, event: HistoryEvent) -> None:
    """When the chain asked for runs or confirmations, released runs, or was canceled (the
    earliest moment of each wins)."""
    at = event.event_time.ToDatetime(tzinfo=UTC)
    decode = client.data_converter.decode
    if event.HasField("workflow_execution_signaled_event_attributes"):
        if event.workflow_execution_signaled_event_attributes.signal_name == "cancel":
            record.canceled_at = min(record.canceled_at or at, at)
    elif event.HasField("signal_external_workflow_execution_initiated_event_attributes"):
        attrs = event.signal_external_workflow_execution_initiated_event_attributes
        if attrs.signal_name == "release_run":
            (release,) = await decode(attrs.input.payloads, [RunRelease])
            _earliest(record.released, release.key, at)
        elif attrs.signal_name == "confirm_run":
            (confirm,) = await decode(attrs.input.payloads, [ConfirmRequest])
            _earliest(record.confirms, confirm.run_id, at)
    elif event.HasField("activity_task_scheduled_event_attributes"):
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name == "request_runs":
            (signals,) = await decode(scheduled.input.payloads, [LaneSignals])
            for signal in signals.signals:
                _earliest(record.requested, signal.request.key, signal.request.not_before)


def _earliest(moments: dict[str, datetime], key: str, at: datetime) -> None:
    moments[key] = min(moments.get(key, at), at)


def _continued_from(event: HistoryEvent) -> str | None:
    if not event.HasField("workflow_execution_started_event_attributes"):
        return None
    return event.workflow_execution_started_event_attributes.continued_execution_run_id or None


async def listed_chains(client: Client, task_queue: str) -> set[str]:
    """The chain ids Temporal's visibility lists on the task queue (it may lag a little)."""
    query = f"TaskQueue = '{task_queue}' AND WorkflowType = '{CHAIN_WORKFLOW}'"
    return {execution.id async for execution in client.list_workflows(query)}


async def stale_lanes(client: Client, task_queue: str, runs: list[SimRun]) -> dict[str, str]:
    """Lanes that follow a run as still going although Spacelift ended it (by ``current_run``).

    Such a lane never triggers again: the next chain's request for the stack is stranded.
    """
    truth = {run.id: run for run in runs}
    stale: dict[str, str] = {}
    for stack in sorted({run.stack_id for run in runs}):
        handle = client.get_workflow_handle(lane_id(task_queue, stack))
        try:
            current: dict[str, Any] | None = await asyncio.wait_for(
                handle.query("current_run"), QUERY_SECONDS
            )
        except (RPCError, TimeoutError):
            continue  # no lane (never needed), or it cannot answer now
        run = truth.get(current["run_id"]) if current else None
        believed = current["state"] if current else ""
        if run is not None and run.is_terminal and not _ended(believed):
            stale[stack] = f"follows {run.id} as {believed}, Spacelift: {run.state.value}"
    return stale


def _ended(state: str) -> bool:
    return state in RunState.__members__ and RunState(state).is_terminal
