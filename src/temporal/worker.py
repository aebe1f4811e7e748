"""The worker: runs stackchain's workflows and activities on one task queue."""

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal.activities import ChainPlanner, LaneActivities, RunsApi, SpaceliftActivities
from temporal.workflows.chain import DependencyChainWorkflow
from temporal.workflows.lane import StackLaneWorkflow

WORKFLOWS = (DependencyChainWorkflow, StackLaneWorkflow)

SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("temporal", "spacelift")
)
"""The sandbox, minus re-importing our own modules for every workflow run: they are
deterministic and keep no module state, and a lane per stack makes thousands of workflow runs."""


def build_worker(
    client: Client,
    *,
    task_queue: str,
    spacelift: RunsApi,
    planner: ChainPlanner,
    poll_interval: timedelta,
) -> Worker:
    """A worker for every stackchain workflow and activity, against one Spacelift account."""
    calls = SpaceliftActivities(spacelift)
    lanes = LaneActivities(
        client, task_queue=task_queue, poll_interval=poll_interval, planner=planner
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
            lanes.request_runs,
            lanes.start_chain,
        ],
    )
