"""What Temporal says a chain did: its final (or current) document and every run update it got.

Read from the server, not from the worker: ``describe`` and ``result`` of the chain, and the
``run_update`` signals in the histories of all its runs (followed back across continue-as-new).
The updates tell which run served which attempt (request key ``chain/stack/attempt``).
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError

from spacelift.models import RunState
from spacelift.sandbox.runs import SimRun
from temporal.inputs import CHAIN_WORKFLOW, RunUpdate, StartChainRequest, lane_id
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
    faults: list[tuple[str, str, str]] = field(default_factory=list)
    lost_webhooks: list[tuple[str, str]] = field(default_factory=list)
    stale_lanes: dict[str, str] = field(default_factory=dict)
    """Stack -> how its lane still follows a run that Spacelift says has ended."""

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
    record.updates, record.executions = await _updates(client, chain_id, description.run_id)
    return record


async def _updates(
    client: Client, chain_id: str, run_id: str | None
) -> tuple[list[RunUpdate], int]:
    """Every ``run_update`` of the chain, oldest run first, and how many runs it had."""
    runs: list[list[RunUpdate]] = []
    while run_id:
        history = await client.get_workflow_handle(chain_id, run_id=run_id).fetch_history()
        updates, run_id = [], None
        for event in history.events:
            run_id = _continued_from(event) or run_id
            attrs = event.workflow_execution_signaled_event_attributes
            if event.HasField("workflow_execution_signaled_event_attributes") and (
                attrs.signal_name == "run_update"
            ):
                (update,) = await client.data_converter.decode(attrs.input.payloads, [RunUpdate])
                updates.append(update)
        runs.insert(0, updates)
    return [update for run in runs for update in run], len(runs)


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
