"""The worker: runs stackchain's workflows and activities on one task queue."""

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal.activities import (
    RECONCILE_INTERVAL,
    ChainPlanner,
    LaneActivities,
    RootStacks,
    RunsApi,
    SpaceliftActivities,
)
from temporal.client import EVENT_MAX_AGE
from temporal.workflows.chain import DependencyChainWorkflow
from temporal.workflows.lane import StackLaneWorkflow
from temporal.workflows.reconciler import RootReconcilerWorkflow

WORKFLOWS = (DependencyChainWorkflow, StackLaneWorkflow, RootReconcilerWorkflow)

SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("temporal", "spacelift")
)
"""The sandbox, minus re-importing our own modules for every workflow run: they are
deterministic and keep no module state, and a lane per stack makes thousands of workflow runs."""


def build_worker(  # noqa: PLR0913 - the engine's settings, each named
    client: Client,
    *,
    task_queue: str,
    spacelift: RunsApi,
    planner: ChainPlanner,
    poll_interval: timedelta,
    event_max_age: timedelta = EVENT_MAX_AGE,
    reconcile_interval: timedelta = RECONCILE_INTERVAL,
    root_stacks: RootStacks = list,
    identity: str | None = None,
) -> Worker:
    """A worker for every stackchain workflow and activity, against one Spacelift account.

    ``identity`` is who Spacelift records as triggering stackchain's runs (``api::<key id>``);
    ``root_stacks`` lists the file's stacks that have dependents, for the reconciler.
    """
    calls = SpaceliftActivities(spacelift, identity=identity)
    lanes = LaneActivities(
        client,
        task_queue=task_queue,
        poll_interval=poll_interval,
        planner=planner,
        api=spacelift,
        event_max_age=event_max_age,
        reconcile_interval=reconcile_interval,
        root_stacks=root_stacks,
        identity=identity,
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=SANDBOX,
        activities=[
            calls.trigger_run,
            calls.get_run,
            calls.confirm_run,
            calls.stop_run,
            calls.find_lost_runs,
            lanes.request_runs,
            lanes.start_chain,
            lanes.reconcile_roots,
        ],
    )
