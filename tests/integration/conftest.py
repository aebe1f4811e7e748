"""A chain engine per test, on its own task queue against the fake Spacelift, on the session's
real Temporal dev server (``temporal_server`` and ``temporal_client`` in tests/conftest.py)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from temporal import client as workflows
from temporal.inputs import (
    ChainInput,
    ChainStack,
    RunEvent,
    RunRequest,
    StackPolicy,
    StartChainRequest,
)
from temporal.worker import build_worker
from tests.conftest import free_port
from tests.integration.fake_spacelift import IDENTITY, FakeSpacelift

__all__ = ["free_port"]  # the integration tests import it from here


def graph_input(
    root: str,
    graph: dict[str, list[str]],
    *,
    policies: dict[str, StackPolicy] | None = None,
    **options: Any,
) -> ChainInput:
    """A chain over ``graph`` (stack -> its upstreams), listed in the order given."""
    policies = policies or {}
    stacks = [
        ChainStack(id=stack, upstreams=ups, policy=policies.get(stack, FAST))
        for stack, ups in graph.items()
    ]
    return ChainInput(root_stack=root, stacks=stacks, **options)


FAST = StackPolicy(retries=0, retry_backoff_seconds=0.05)


@dataclass
class Engine:
    """A worker on a fresh task queue, wired to a fake Spacelift whose events reach lanes."""

    client: Client
    spacelift: FakeSpacelift
    task_queue: str
    poll_interval: timedelta
    plans: dict[str, ChainInput] = field(default_factory=dict)
    planned: list[StartChainRequest] = field(default_factory=list)
    broken_file: str | None = None

    async def deliver(self, event: RunEvent) -> None:
        """What the webhook server does with an event: signal-with-start the stack's lane."""
        await workflows.deliver_run_event(
            self.client, event, task_queue=self.task_queue, poll_interval=self.poll_interval
        )

    def planner(self, req: StartChainRequest) -> ChainInput | None:
        """Records every root the lanes found; plans from ``plans`` (raises while broken)."""
        if self.broken_file is not None:
            raise ValueError(self.broken_file)
        self.planned.append(req)
        plan = self.plans.get(req.stack_id)
        return None if plan is None else replace(plan, root_run_id=req.run_id)

    async def request(self, stack_id: str, request: RunRequest) -> None:
        """What a chain's request_runs activity does: signal-with-start the stack's lane."""
        await workflows.signal_lane(
            self.client,
            task_queue=self.task_queue,
            stack_id=stack_id,
            poll_interval=self.poll_interval,
            signal="request_run",
            arg=request,
        )

    async def start(self, req: ChainInput) -> WorkflowHandle[Any, Any]:
        chain_id = workflows.manual_chain_id(req.root_stack, uuid.uuid4().hex[:8])
        return await workflows.start_chain(
            self.client, task_queue=self.task_queue, chain_id=chain_id, req=req
        )

    async def run(self, req: ChainInput) -> dict[str, Any]:
        handle = await self.start(req)
        result: dict[str, Any] = await handle.result()
        return result


def engine_worker(engine: Engine) -> Worker:
    """A worker for the engine's task queue, against its fake Spacelift."""
    return build_worker(
        engine.client,
        task_queue=engine.task_queue,
        spacelift=engine.spacelift,
        planner=engine.planner,
        poll_interval=engine.poll_interval,
        identity=IDENTITY,
    )


RECONCILING_POLL = timedelta(milliseconds=300)


@asynccontextmanager
async def reconciling_engine(
    client: Client,
    *,
    root_stacks: list[str],
    event_max_age: timedelta = timedelta(hours=6),
) -> AsyncIterator[Engine]:
    """An engine whose worker also runs the reconciler, every 0.3 s, over ``root_stacks``."""
    spacelift = FakeSpacelift()
    engine = Engine(client, spacelift, f"test-{uuid.uuid4().hex[:12]}", RECONCILING_POLL)
    worker = build_worker(
        client,
        task_queue=engine.task_queue,
        spacelift=spacelift,
        planner=engine.planner,
        poll_interval=RECONCILING_POLL,
        event_max_age=event_max_age,
        reconcile_interval=timedelta(milliseconds=300),
        root_stacks=lambda: list(root_stacks),
        identity=IDENTITY,
    )
    spacelift.sink = engine.deliver
    try:
        async with worker:
            await workflows.ensure_reconciler(client, task_queue=engine.task_queue)
            try:
                yield engine
            finally:
                await client.get_workflow_handle(
                    workflows.reconciler_id(engine.task_queue)
                ).terminate()
    finally:
        await spacelift.aclose()


@asynccontextmanager
async def engine_with(
    client: Client,
    *,
    identity: str | None,
    event_max_age: timedelta = timedelta(hours=6),
) -> AsyncIterator[Engine]:
    """An engine with a chosen identity (None: ``SPACELIFT_API_TOKEN``) and event age limit."""
    spacelift = FakeSpacelift()
    engine = Engine(client, spacelift, f"test-{uuid.uuid4().hex[:12]}", RECONCILING_POLL)
    spacelift.sink = engine.deliver
    worker = build_worker(
        client,
        task_queue=engine.task_queue,
        spacelift=spacelift,
        planner=engine.planner,
        poll_interval=RECONCILING_POLL,
        event_max_age=event_max_age,
        identity=identity,
    )
    try:
        async with worker:
            yield engine
    finally:
        await spacelift.aclose()


class EngineFactory(Protocol):
    def __call__(
        self, *, poll_interval: timedelta = ...
    ) -> AbstractAsyncContextManager[Engine]: ...


@pytest.fixture
def engine_factory(temporal_client: Client) -> EngineFactory:
    """Engines with chosen settings; each on its own task queue, torn down on exit."""

    @asynccontextmanager
    async def make(*, poll_interval: timedelta = timedelta(seconds=60)) -> AsyncIterator[Engine]:
        spacelift = FakeSpacelift()
        eng = Engine(
            client=temporal_client,
            spacelift=spacelift,
            task_queue=f"test-{uuid.uuid4().hex[:12]}",
            poll_interval=poll_interval,
        )
        spacelift.sink = eng.deliver
        try:
            async with engine_worker(eng):
                yield eng
        finally:
            await spacelift.aclose()

    return make


@pytest.fixture
async def engine(engine_factory: EngineFactory) -> AsyncIterator[Engine]:
    async with engine_factory() as eng:
        yield eng


async def eventually(predicate: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Wait until ``predicate`` holds, failing the test after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {within}s")
        await asyncio.sleep(0.05)


async def workflow_exists(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow has started (a chain is planned before it is started)."""
    try:
        await handle.describe()
    except RPCError:
        return False
    return True


async def stack_state(handle: WorkflowHandle[Any, Any], stack_id: str) -> str:
    """The stack's state in the chain, by the ``status`` query."""
    status: dict[str, Any] = await handle.query("status")
    return str(status["stacks"][stack_id]["state"])
