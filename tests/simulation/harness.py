"""One seed, end to end: a sandbox world, the real engine on its own task queue, the fault plan.

The engine is ``temporal.worker.build_worker`` on the session's Temporal dev server (never a
mock), against :class:`~tests.simulation.spacelift_sim.SimSpacelift`; run events reach lanes
through ``deliver_run_event`` as the webhook server hands them over. The planned actions play
out at their times; worker restarts leave the ``async with Worker`` and start a new one. Then
the harness waits for every chain to end (or pass its bound), for the world to settle, and
gathers the evidence the invariants judge.
"""

import asyncio
import inspect
import random
import uuid
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from spacelift.models import RunState
from spacelift.sandbox.config import Durations, SandboxConfig, SandboxStack
from spacelift.sandbox.runs import SimRun
from spacelift.sandbox.runtime import Clock, Tasks
from spacelift.sandbox.world import World
from temporal import client as workflows
from temporal.inputs import ChainInput, ChainStack, RunEvent, StartChainRequest, lane_id
from temporal.worker import build_worker
from tests.simulation.actions import Chains, Operators
from tests.simulation.evidence import Evidence, collect_chain, listed_chains, stale_lanes
from tests.simulation.invariants import chain_bound
from tests.simulation.replays import replay_failures
from tests.simulation.scenario import (
    ENGINE,
    PERSON,
    POLL_SECONDS,
    RUN_PHASE_SECONDS,
    Scenario,
)
from tests.simulation.spacelift_sim import CallFaults, SimSpacelift
from tests.simulation.webhooks import Webhooks

POLL = timedelta(seconds=POLL_SECONDS)
RECONCILE = timedelta(seconds=1)
SETTLE_SECONDS = 10.0
"""How long the world may take to settle once the chains ended (stops, polls, retries)."""
ROOT_GRACE_SECONDS = 10.0
"""How long after a person's run FINISHED its chain may take to appear."""
LANE_GRACE_SECONDS = 15.0
"""How long a lane may lag behind Spacelift once all is quiet: polls, their retries (at most two
injected faults in a row: 3 s of backoff) and a loaded machine's slow task dispatch (up to 7 s
seen); a lane that is stranded stays behind for ever."""
TICK = 0.05


class SeedRun:
    """Runs one scenario and returns its evidence."""

    def __init__(self, scenario: Scenario, client: Client) -> None:
        self.scenario = scenario
        self.client = client
        self.task_queue = f"sim-{scenario.seed}-{uuid.uuid4().hex[:6]}"
        self.tasks = Tasks()
        self.reconciles = hasattr(workflows, "ensure_reconciler")
        self.webhooks = Webhooks(scenario, self.tasks, may_lose_roots=self.reconciles)
        self.webhooks.deliver = self._deliver
        self.clock = Clock()
        self.world = World(_config(scenario), self.clock, self.tasks, self.webhooks.on_transition)
        for stack, outcomes in scenario.outcomes.items():
            self.world.set_outcomes(stack, outcomes)
        rng = random.Random(f"{scenario.seed}:calls")  # noqa: S311
        self.spacelift = SimSpacelift(self.world, CallFaults(scenario.calls, rng, self.clock.now))
        self.chains = Chains()
        self.planned: list[StartChainRequest] = []
        self.known_since: dict[str, float] = {}
        self.operators = Operators(
            self.world, client, self.task_queue, self.chains, self._manual_chain
        )
        self._done = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    # --- the engine's side ---------------------------------------------------------------------
    async def _deliver(self, event: RunEvent) -> None:
        await workflows.deliver_run_event(
            self.client, event, task_queue=self.task_queue, poll_interval=POLL
        )

    def planner(self, req: StartChainRequest) -> ChainInput | None:
        """The seed's dependency file: a root's chain runs its descendants."""
        self.planned.append(req)
        stacks = self.scenario.descendants(req.stack_id)
        if not stacks:
            return None
        chain_id = workflows.root_chain_id(req.stack_id, req.run_id)
        self._loop.call_soon_threadsafe(self._know, chain_id, req.stack_id, stacks)
        return self._chain_input(req.stack_id, stacks, req)

    def _know(self, chain_id: str, root: str, stacks: list[str]) -> None:
        self.chains.stacks.setdefault(chain_id, stacks)
        self.chains.roots.setdefault(chain_id, root)
        self.known_since.setdefault(chain_id, self._loop.time())
        self.webhooks.changed.set()

    def _manual_chain(self, root: str, include_root: bool) -> ChainInput:  # noqa: FBT001
        stacks = [root] * include_root + self.scenario.descendants(root)
        return self._chain_input(root, stacks, None)

    def _chain_input(
        self, root: str, stacks: list[str], req: StartChainRequest | None
    ) -> ChainInput:
        members = {root, *stacks}
        graph = self.scenario.graph
        return ChainInput(
            root_stack=root,
            stacks=[
                ChainStack(
                    stack,
                    [up for up in graph[stack] if up in members and stack != root],
                    self.scenario.policies[stack],
                )
                for stack in stacks
            ],
            root_run_id=req.run_id if req else None,
            root_commit=req.commit_sha if req else None,
            root_has_changes=req.has_changes if req else True,
            max_parallel=self.scenario.max_parallel,
            run_timeout_seconds=self.scenario.run_timeout,
            spacelift_url="https://sim.app.spacelift.io",
        )

    def _worker(self) -> Worker:
        """``build_worker`` with the options this engine version takes."""
        wanted: dict[str, Any] = {
            "identity": ENGINE,
            "root_stacks": lambda: self.scenario.roots,
            "reconcile_interval": RECONCILE,
        }
        accepted = inspect.signature(build_worker).parameters
        options = {name: value for name, value in wanted.items() if name in accepted}
        return build_worker(
            self.client,
            task_queue=self.task_queue,
            spacelift=self.spacelift,
            planner=self.planner,
            poll_interval=POLL,
            **options,
        )

    async def _workers(self, started: asyncio.Event) -> None:
        """A worker for the whole seed, restarted at the planned moments."""
        restarts = [a for a in self.scenario.actions if a.kind == "restart"]
        for restart in restarts:
            async with self._worker():
                started.set()
                await self._until(restart.at)
            await asyncio.sleep(restart.downtime)  # the worker is down: time passes
        async with self._worker():
            started.set()
            await self._done.wait()

    # --- the seed ------------------------------------------------------------------------------
    async def run(self) -> Evidence:
        """Play the scenario; the evidence once everything ended or ran out of time."""
        self._start = self._loop.time()
        self._started_at = self.clock.now()  # the same moment on the clock runs are stamped by
        started = asyncio.Event()
        workers = asyncio.create_task(self._workers(started))
        try:
            await started.wait()
            if self.reconciles:
                await workflows.ensure_reconciler(self.client, task_queue=self.task_queue)
            await self._play()
            await self._wait_for_chains()
            return await self._evidence()
        finally:
            self._done.set()
            await asyncio.gather(workers, return_exceptions=True)
            await self._terminate_all()
            await self.tasks.aclose()

    async def _until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, self._start + at - self._loop.time()))  # the plan's clock

    async def _play(self) -> None:
        acting: list[asyncio.Task[None]] = []
        for action in self.scenario.actions:
            if action.kind != "restart":
                await self._until(action.at)
                acting.append(asyncio.create_task(self.operators.perform(action)))
        await asyncio.gather(*acting)

    async def _wait_for_chains(self) -> None:
        """Until no chain runs (or every one is past its bound) and no new root is due."""
        waited: set[str] = set()
        while True:
            pending = set(self.chains.stacks) - waited
            await asyncio.gather(*(self._wait_for_chain(chain_id) for chain_id in pending))
            waited |= pending
            await self._settle()
            if not set(self.chains.stacks) - waited:
                return

    async def _wait_for_chain(self, chain_id: str) -> None:
        bound = chain_bound(self.scenario, self.chains.stacks[chain_id], self._restart_slack())
        deadline = self.known_since.get(chain_id, self._loop.time()) + bound + 1.0
        handle = self.client.get_workflow_handle(chain_id)
        while self._loop.time() < deadline:
            try:
                await asyncio.wait_for(handle.result(), deadline - self._loop.time())
            except RPCError:  # not started yet
                await asyncio.sleep(TICK)
            except Exception:  # noqa: BLE001 - past its bound, or failed: the evidence says
                return
            else:
                return

    def _restart_slack(self) -> float:
        return sum(1.0 + a.downtime for a in self.scenario.actions if a.kind == "restart")

    async def _settle(self) -> None:
        """Wait until Spacelift is quiet and every finished root's chain is known."""
        deadline = self._loop.time() + SETTLE_SECONDS + ROOT_GRACE_SECONDS
        changed = self.webhooks.changed
        while not self._settled():
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), deadline - self._loop.time())
            except TimeoutError:
                return

    def _settled(self) -> bool:
        runs = self.world.all_runs()
        if any(not run.is_terminal and not _stuck(self.world, run) for run in runs):
            return False
        return all(
            workflows.root_chain_id(run.stack_id, run.id) in self.chains.stacks
            for run in runs
            if run.triggered_by == PERSON
            and run.state is RunState.FINISHED
            and self.scenario.dependents(run.stack_id)
        )

    async def _stale_lanes(self) -> dict[str, str]:
        """Lanes still behind Spacelift once it is quiet, after a few poll intervals' grace."""
        deadline = self._loop.time() + LANE_GRACE_SECONDS
        while stale := await stale_lanes(self.client, self.task_queue, self.world.all_runs()):
            if self._loop.time() > deadline:
                break
            await asyncio.sleep(POLL_SECONDS)  # lanes learn by webhook or by their next poll
        return stale

    async def _evidence(self) -> Evidence:
        stale = await self._stale_lanes()
        listed = await listed_chains(self.client, self.task_queue)
        ids = set(self.chains.stacks) | listed
        ids |= {
            workflows.root_chain_id(run.stack_id, run.id)
            for run in self.world.all_runs()
            if run.triggered_by == PERSON
        }
        records = await asyncio.gather(*(collect_chain(self.client, i) for i in sorted(ids)))
        return Evidence(
            scenario=self.scenario,
            runs=self.world.all_runs(),
            chains={record.chain_id: record for record in records if record.status is not None},
            chain_stacks=dict(self.chains.stacks),
            chain_roots=dict(self.chains.roots),
            canceled=set(self.chains.canceled),
            planned=list(self.planned),
            restart_slack=self._restart_slack(),
            faults=self.spacelift.faults.injected,
            lost_webhooks=self.webhooks.log.lost,
            stale_lanes=stale,
            started_at=self._started_at,
            replay_failures=await replay_failures(self.client, self.task_queue),
        )

    async def _terminate_all(self) -> None:
        ids = [lane_id(self.task_queue, stack) for stack in self.scenario.graph]
        ids += [*self.chains.stacks, f"reconciler@{self.task_queue}"]
        for workflow_id in ids:
            try:
                await self.client.get_workflow_handle(workflow_id).terminate("simulation over")
            except RPCError:
                continue


def _stuck(world: World, run: SimRun) -> bool:
    """A person's run that waits for a person, or any run queued behind one: it stays."""
    waiting = [r for r in world.entry(run.stack_id).runs if r.state is RunState.UNCONFIRMED]
    people = [r for r in waiting if r.triggered_by == PERSON]
    if run.triggered_by == PERSON and run.state is RunState.UNCONFIRMED:
        return True
    return run.triggered_by == PERSON and run.state is RunState.QUEUED and bool(people)


def _config(scenario: Scenario) -> SandboxConfig:
    phase = RUN_PHASE_SECONDS
    durations = Durations(queued=phase, preparing=phase, planning=phase, applying=phase)
    stacks = tuple(
        SandboxStack(stack, autodeploy=scenario.autodeploy[stack], durations=durations)
        for stack in scenario.graph
    )
    return SandboxConfig(stacks=stacks, seed=scenario.seed)
