"""Prometheus metrics of the API process.

They live on a registry of each app's own, so tests and ``serve`` can build several apps in one
process.

What the API process sees, and what it cannot:

- webhooks by outcome and the time to handle one: every delivery;
- stack runs by final state and run durations: from the webhooks of tracked runs of configured
  stacks (a lost webhook is a gap; the worker's polling does not feed these);
- chains started: those started through the API (``origin="manual"``); root chains are started by
  a lane in the worker and are counted only in ``stackchain_chains`` below;
- chains finished: counted once per chain when an API read sees it closed;
- ``stackchain_chains{status}``: every chain Temporal's visibility store holds, by status, read at
  most once every 5 s however often it is scraped (``app.web.chain_counts``; covers chains nobody
  asked about; bounded by the namespace's retention).
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.web.bounded import BoundedSet
from temporal.inputs import ChainStatus

_REMEMBERED_FINISHED = 10_000


class Metrics:
    """The API's metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.webhooks = Counter(
            "stackchain_webhooks", "Webhook deliveries by outcome.", ["outcome"], registry=r
        )
        self.webhook_seconds = Histogram(
            "stackchain_webhook_handling_seconds",
            "Time to answer one webhook delivery (body read to answer).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.chains_started = Counter(
            "stackchain_chains_started", "Chains started through this API.", ["origin"], registry=r
        )
        self.chains_finished = Counter(
            "stackchain_chains_finished",
            "Chains seen closed by an API read, once each, by final status.",
            ["status"],
            registry=r,
        )
        self.chains = Gauge(
            "stackchain_chains",
            "Chains in Temporal's visibility store by status.",
            ["status"],
            registry=r,
        )
        self.stack_runs = Counter(
            "stackchain_stack_runs",
            "Tracked runs of configured stacks that reached a final state (from webhooks).",
            ["stack", "state"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "stackchain_run_duration_seconds",
            "From a run's creation to its final state (from webhooks).",
            ["state"],
            buckets=(10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
            registry=r,
        )
        self._finished = BoundedSet[str](_REMEMBERED_FINISHED)

    def chain_seen(self, chain_id: str, status: str) -> None:
        """Count a chain read in a final status, once per chain id."""
        if status == ChainStatus.RUNNING or chain_id in self._finished:
            return
        self._finished.add(chain_id)
        self.chains_finished.labels(status=status).inc()
