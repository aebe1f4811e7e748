"""``RootReconciler``: no root run is lost with its webhook.

One per deployment (``reconciler@<task queue>``), started by every worker. Every
``STACKCHAIN_RECONCILE_INTERVAL`` it runs ``reconcile_roots``, which asks Spacelift for the
latest tracked runs of the file's stacks and hands each FINISHED one that its lane has not seen
to the lane, exactly as the webhook would have. The lane decides, as for any event, whether the
run is a root; the chain id and the lane's memory make a repeat harmless.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from temporal.activities import LaneActivities
    from temporal.inputs import RECONCILER_WORKFLOW, ReconcileRequest
    from temporal.workflows import calls
    from temporal.workflows.calls import call

ROUNDS_PER_RUN = 100
"""Rounds before continuing as new: a short history, whatever the interval."""
AFTER_FAILURE = timedelta(minutes=1)
"""The wait before trying again when a round failed (Spacelift or Temporal down)."""


@workflow.defn(name=RECONCILER_WORKFLOW)
class RootReconcilerWorkflow:
    """Hands finished root runs whose webhook never came to their lanes, for ever."""

    @workflow.run
    async def run(self, req: ReconcileRequest) -> None:
        """Reconcile, wait the interval the worker is configured with, and again."""
        for _ in range(ROUNDS_PER_RUN):
            try:
                seconds = await call(
                    LaneActivities.reconcile_roots,
                    req,
                    summary="hand over finished root runs without a webhook",
                    retry=calls.SPACELIFT,
                )
                wait = timedelta(seconds=seconds)
            except ActivityError as error:
                workflow.logger.warning("reconciling failed: %s", error.cause)
                wait = AFTER_FAILURE
            await workflow.sleep(wait)
        workflow.continue_as_new(req)
