"""What the operator API does to chains, over Temporal: start, list, read, cancel, approve.

Every Temporal call goes through :class:`~app.web.temporal_gateway.TemporalGateway`, so it is
bounded in time and an unreachable server is a 503. Chains are ``DependencyChain`` workflows on
this deployment's task queue; any other workflow id is "no such chain".
"""

import re
import uuid
from datetime import datetime
from typing import Any

from temporalio.client import (
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from app.core.chains import chain_input
from app.core.errors import (
    ConflictError,
    NotFoundError,
    TemporalUnavailableError,
    UnprocessableError,
)
from app.core.graph_source import GraphSource
from app.stackfile import UnknownStackError
from app.stackfile.models import STACK_ID_MAX
from app.web.metrics import Metrics
from app.web.temporal_gateway import TemporalGateway
from app.web.webhooks.models import RUN_ID_MAX
from temporal import client as workflows
from temporal import search_attributes
from temporal.chainstate import NotAwaitingConfirmationError, StackNotInChainError
from temporal.inputs import CHAIN_WORKFLOW, ChainStatus
from temporal.workflows.chain import ApproveRequest

_CHAIN_ID_MAX = STACK_ID_MAX + len("-manual-") + RUN_ID_MAX
"""What chain-<stack>-<run> and chain-<stack>-manual-<id> can reach (ids are capped)."""
CHAIN_ID = re.compile(rf"chain-[A-Za-z0-9_.@-]{{1,{_CHAIN_ID_MAX}}}")
_CLOSED_STATUS = {
    WorkflowExecutionStatus.COMPLETED: ChainStatus.SUCCEEDED,
    WorkflowExecutionStatus.FAILED: ChainStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT: ChainStatus.FAILED,
    WorkflowExecutionStatus.TERMINATED: ChainStatus.CANCELED,
    WorkflowExecutionStatus.CANCELED: ChainStatus.CANCELED,
}


def _visibility_name(status: WorkflowExecutionStatus) -> str:
    return "".join(part.capitalize() for part in status.name.split("_"))  # TIMED_OUT: TimedOut


def _status_clause(status: ChainStatus) -> str:
    """Visibility's filter for the chains :func:`_status` reads as ``status``.

    A chain that ended abnormally (terminated, timed out) still says ``running`` in its search
    attribute.
    """
    said = f'{search_attributes.STATUS.name} = "{{}}"'
    if status is ChainStatus.RUNNING:
        return f'{said.format(status.value)} AND ExecutionStatus = "Running"'
    ended = [_visibility_name(ws) for ws, chain in _CLOSED_STATUS.items() if chain is status]
    abnormal = [name for name in ended if name != "Completed"]
    if not abnormal:
        return said.format(status.value)
    listed = ", ".join(f'"{name}"' for name in abnormal)
    running = said.format(ChainStatus.RUNNING.value)
    return f"({said.format(status.value)} OR ({running} AND ExecutionStatus IN ({listed})))"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _status(execution: WorkflowExecution) -> str:
    """The chain's status: its search attribute, unless the workflow ended without saying so."""
    said = execution.typed_search_attributes.get(search_attributes.STATUS)
    running = execution.status in {None, WorkflowExecutionStatus.RUNNING}
    if said and (running or said != ChainStatus.RUNNING):
        return said
    if running:
        return ChainStatus.RUNNING.value
    assert execution.status is not None  # noqa: S101 - not running means closed
    return _CLOSED_STATUS.get(execution.status, ChainStatus.FAILED).value


def summary(execution: WorkflowExecution) -> dict[str, Any]:
    """One line of ``GET /api/v1/chains``."""
    return {
        "chain_id": execution.id,
        "root_stack": execution.typed_search_attributes.get(search_attributes.ROOT_STACK),
        "status": _status(execution),
        "started_at": _iso(execution.start_time),
    }


class ChainService:
    """Chains of one deployment (task queue)."""

    def __init__(
        self,
        gateway: TemporalGateway,
        *,
        task_queue: str,
        graphs: GraphSource,
        metrics: Metrics,
        spacelift_url: str = "",
    ) -> None:
        self._gateway = gateway
        self._task_queue = task_queue
        self._graphs = graphs
        self._metrics = metrics
        self._spacelift_url = spacelift_url

    async def start(self, stack: str, *, include_root: bool) -> str:
        """Start a manual chain from ``stack``; returns its id."""
        graph = self._graphs.graph()
        try:
            plan = graph.plan(stack, include_root=include_root)
        except UnknownStackError as error:
            raise NotFoundError(str(error)) from None
        if not plan.stacks:
            msg = f"stack '{stack}' has no dependents: a chain from it runs nothing"
            raise UnprocessableError(msg + " (set include_root to run it alone)")
        chain_id = workflows.manual_chain_id(stack, uuid.uuid4().hex[:12])
        req = chain_input(graph, plan, spacelift_url=self._spacelift_url)
        client = await self._gateway.client()
        start = workflows.start_chain(
            client, task_queue=self._task_queue, chain_id=chain_id, req=req
        )
        await self._gateway.bounded(start, "the start of the chain")
        self._metrics.chains_started.labels(origin="manual").inc()
        return chain_id

    async def list_chains(
        self, status: ChainStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The deployment's chains, newest first."""
        query = self._query(status)
        client = await self._gateway.client()

        async def collect() -> list[WorkflowExecution]:
            return [wf async for wf in client.list_workflows(query, limit=limit)]

        found = await self._gateway.bounded(collect(), "the chain listing")
        found.sort(key=lambda wf: wf.start_time, reverse=True)
        return [summary(wf) for wf in found]

    async def count(self, status: ChainStatus) -> int:
        """How many of the deployment's chains Temporal's visibility store holds in ``status``."""
        client = await self._gateway.client()
        found = await self._gateway.bounded(client.count_workflows(self._query(status)), "a count")
        return found.count

    def _query(self, status: ChainStatus | None) -> str:
        query = f'WorkflowType = "{CHAIN_WORKFLOW}" AND TaskQueue = "{_quoted(self._task_queue)}"'
        return query if status is None else f"{query} AND {_status_clause(status)}"

    async def get(self, chain_id: str) -> dict[str, Any]:
        """The chain's status document: the ``status`` query while it runs, else its result."""
        handle, described = await self._describe(chain_id)
        if described.status == WorkflowExecutionStatus.COMPLETED:
            result = await self._gateway.bounded(handle.result(), f"the result of {chain_id}")
            document: dict[str, Any] = dict(result)
        elif described.status == WorkflowExecutionStatus.RUNNING:
            query = handle.query("status")
            try:
                document = await self._gateway.bounded(
                    query, f"the status query of {chain_id} (is a worker running?)"
                )
            except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as error:
                msg = f"chain {chain_id} could not answer its status query: {error}"
                raise TemporalUnavailableError(msg) from None
        else:
            document = _ended_abnormally(described)
        self._metrics.chain_seen(chain_id, str(document.get("status")))
        return document

    async def cancel(self, chain_id: str) -> None:
        """Ask the chain to stop: nothing more starts, runs in flight are stopped."""
        handle, _ = await self._running(chain_id)
        try:
            await self._gateway.bounded(handle.signal("cancel"), f"the cancel of {chain_id}")
        except RPCError as error:
            raise _ended_meanwhile(chain_id, error) from None

    async def approve(self, chain_id: str, stack: str) -> str:
        """Confirm ``stack``'s UNCONFIRMED run in the chain; returns the run id."""
        handle, _ = await self._running(chain_id)
        update = handle.execute_update("approve", ApproveRequest(stack_id=stack), result_type=str)
        try:
            run_id: str = await self._gateway.bounded(
                update, f"the approval in {chain_id} (is a worker running?)"
            )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError):
                if cause.type == StackNotInChainError.__name__:
                    raise NotFoundError(cause.message) from None
                if cause.type == NotAwaitingConfirmationError.__name__:
                    raise ConflictError(cause.message) from None
            msg = f"the approval of {stack} in {chain_id} failed: {error.cause or error}"
            raise ConflictError(msg) from None
        except RPCError as error:
            raise _ended_meanwhile(chain_id, error) from None
        return run_id

    async def _describe(
        self, chain_id: str
    ) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription]:
        if not CHAIN_ID.fullmatch(chain_id):
            msg = f"no chain {chain_id!r}"
            raise NotFoundError(msg)
        client = await self._gateway.client()
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(chain_id)
        try:
            described = await self._gateway.bounded(handle.describe(), f"the lookup of {chain_id}")
        except RPCError as error:
            if error.status in {RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT}:
                msg = f"no chain {chain_id!r}"
                raise NotFoundError(msg) from None
            raise
        if described.workflow_type != CHAIN_WORKFLOW or described.task_queue != self._task_queue:
            msg = f"no chain {chain_id!r}"
            raise NotFoundError(msg)
        return handle, described

    async def _running(
        self, chain_id: str
    ) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription]:
        handle, described = await self._describe(chain_id)
        if described.status != WorkflowExecutionStatus.RUNNING:
            msg = f"chain {chain_id} has already ended ({_status(described)})"
            raise ConflictError(msg)
        return handle, described


def _ended_meanwhile(chain_id: str, error: RPCError) -> Exception:
    """A chain that closed between the lookup and the call: 409, like one found closed."""
    if error.status == RPCStatusCode.NOT_FOUND:
        return ConflictError(f"chain {chain_id} has already ended")
    return error


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _ended_abnormally(described: WorkflowExecutionDescription) -> dict[str, Any]:
    """What is known of a chain whose workflow failed, timed out or was terminated."""
    how = described.status.name.lower() if described.status else "ended"
    return {
        **summary(described),
        "root_run_id": None,
        "finished_at": _iso(described.close_time),
        "stacks": {},
        "error": f"the chain's workflow {how}; its stacks' states are in the Temporal Web UI",
    }
