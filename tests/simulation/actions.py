"""People and operators carrying out a seed's planned actions, against Spacelift and the engine.

People act in Spacelift (a tracked run, confirm, discard, stop); operators act on chains (the
``cancel`` signal, the ``approve`` update) and start manual chains. An action that no longer
fits (the chain ended, no run waits) does nothing, as it would for a person.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from spacelift.models import RunState
from spacelift.sandbox.runs import SandboxError, SimRun, is_stoppable
from spacelift.sandbox.world import World
from temporal import client as workflows
from temporal.inputs import ChainInput
from temporal.workflows.chain import ApproveRequest, DependencyChainWorkflow
from tests.simulation.scenario import PERSON, Action

OPERATOR_CALL_SECONDS = 5.0
"""How long an operator's query or update may take (the worker may be down meanwhile)."""


@dataclass
class Chains:
    """The chains a seed knows of: id -> the stacks it runs (the root included when it runs)."""

    stacks: dict[str, list[str]] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    canceled: set[str] = field(default_factory=set)
    approved: list[tuple[str, str]] = field(default_factory=list)

    def pick(self, index: int) -> str | None:
        ids = sorted(self.stacks)
        return ids[index % len(ids)] if ids else None


@dataclass
class Operators:
    """Carries out actions for one seed."""

    world: World
    client: Client
    task_queue: str
    chains: Chains
    manual_chain: Callable[[str, bool], ChainInput]
    person_runs: list[SimRun] = field(default_factory=list)
    manual_count: int = 0

    async def perform(self, action: Action) -> None:
        """Do ``action`` now."""
        if action.kind == "person_run":
            self.person_runs.append(self.world.trigger(action.stack, triggered_by=PERSON))
        elif action.kind in {"confirm", "discard"}:
            self._on_latest(action.stack, _unconfirmed, action.kind)
        elif action.kind == "stop":
            self._on_latest(action.stack, is_stoppable, "stop")
        elif action.kind == "cancel_chain":
            await self._cancel(action.pick)
        elif action.kind == "approve":
            await self._approve(action)
        elif action.kind == "manual_chain":
            await self._start_manual(action)

    def _on_latest(self, stack_id: str, fits: Callable[[RunState], bool], verb: str) -> None:
        runs = [run for run in self.world.entry(stack_id).runs if fits(run.state)]
        if not runs:
            return
        try:
            getattr(self.world, verb)(stack_id, runs[-1].id, f"{verb} by hand", PERSON)
        except SandboxError:
            return

    async def _cancel(self, pick: int) -> None:
        chain_id = self.chains.pick(pick)
        if chain_id is None:
            return
        self.chains.canceled.add(chain_id)
        try:
            await self.client.get_workflow_handle(chain_id).signal("cancel")
        except RPCError:
            return  # not started yet, or ended

    async def _approve(self, action: Action) -> None:
        chain_id = self.chains.pick(action.pick)
        if chain_id is None:
            return
        handle = self.client.get_workflow_handle(chain_id)
        try:
            status: dict[str, Any] = await asyncio.wait_for(
                handle.query("status"), OPERATOR_CALL_SECONDS
            )
            waiting = [
                stack
                for stack, progress in status["stacks"].items()
                if progress["state"] == "awaiting_confirmation"
            ]
            stack = waiting[action.pick % len(waiting)] if waiting else action.stack
            self.chains.approved.append((chain_id, stack))
            await asyncio.wait_for(
                handle.execute_update(DependencyChainWorkflow.approve, ApproveRequest(stack)),
                OPERATOR_CALL_SECONDS,
            )
        except (
            RPCError,
            WorkflowUpdateFailedError,
            WorkflowUpdateRPCTimeoutOrCancelledError,
            TimeoutError,
        ):
            return  # refused (nothing waits), ended, or the worker is down

    async def _start_manual(self, action: Action) -> None:
        self.manual_count += 1
        suffix = f"sim-{self.task_queue}-{self.manual_count}"
        chain_id = workflows.manual_chain_id(action.stack, suffix)
        req = self.manual_chain(action.stack, action.include_root)
        self.chains.stacks[chain_id] = [stack.id for stack in req.stacks]
        self.chains.roots[chain_id] = action.stack
        await workflows.start_chain(
            self.client, task_queue=self.task_queue, chain_id=chain_id, req=req
        )


def _unconfirmed(state: RunState) -> bool:
    return state is RunState.UNCONFIRMED
