"""The worker: runs stackchain's workflows and activities on one task queue."""

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from temporal.activities import ChainPlanner, LaneActivities, RunsApi, SpaceliftActivities
from temporal.workflows.chain import DependencyChainWorkflow
from temporal.workflows.lane import StackLaneWorkflow

WORKFLOWS = (DependencyChainWorkflow, StackLaneWorkflow)


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
        activities=[
            calls.trigger_run,
            calls.get_run,
            calls.confirm_run,
            calls.stop_run,
            lanes.request_run,
            lanes.start_chain,
        ],
    )
