"""Sending a signed webhook at every transition of every run, with Spacelift's retries and chaos.

Events of one run are sent one after another, in the order of their transitions; runs do not wait
for each other. A 5xx answer or a connection error is retried up to ``WebhookTarget.retries``
times with doubling backoff (Spacelift's opt-in "retry on failure"); any other answer ends the
delivery. Chaos may drop an event, send it twice, hold it back until after the run's next one, or
(by run state) drop it or send it late, its run's later events going ahead.
"""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from spacelift.models import RunState
from spacelift.sandbox.chaos import ChaosEngine
from spacelift.sandbox.config import SandboxConfig, WebhookTarget
from spacelift.sandbox.payloads import default_payload, policy_payload, signature_headers
from spacelift.sandbox.runs import SimRun, Transition
from spacelift.sandbox.runtime import Tasks
from spacelift.sandbox.world import StackEntry

DeliveryOutcome = Literal["pending", "dropped", "delivered", "rejected", "failed"]


@dataclass(eq=False)
class Delivery:
    """One webhook event as sent (or dropped); ``attempts`` holds each answer's status (0: none)."""

    run_id: str
    stack_id: str
    state: RunState
    state_version: int
    url: str
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    copy: int = 1
    outcome: DeliveryOutcome = "pending"
    attempts: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the body included, as it was sent)."""
        return {
            "run_id": self.run_id,
            "stack_id": self.stack_id,
            "state": self.state.value,
            "state_version": self.state_version,
            "copy": self.copy,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "body": json.loads(self.body),
        }


class WebhookSender:
    """Turns transitions into signed deliveries to ``target`` (nothing is sent without one)."""

    def __init__(
        self,
        config: SandboxConfig,
        chaos: ChaosEngine,
        tasks: Tasks,
        notify: Callable[[], None],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.target: WebhookTarget | None = config.webhook
        self._account, self._base_url = config.account, config.base_url
        self._chaos, self._tasks, self._notify = chaos, tasks, notify
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._held: dict[str, list[Delivery]] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}
        self.deliveries: list[Delivery] = []

    def _render(
        self, target: WebhookTarget, entry: StackEntry, run: SimRun, at: Transition
    ) -> bytes:
        if target.shape == "policy":
            payload = policy_payload(
                self._account, self._base_url, target.endpoint_id, entry, run, at
            )
        else:
            payload = default_payload(self._account, entry, run, at)
        return json.dumps(payload, separators=(",", ":")).encode()

    def publish(self, entry: StackEntry, run: SimRun, transition: Transition) -> None:
        """Queue the event of ``transition`` (the body is rendered now, as the run is now)."""
        if (target := self.target) is None:
            return
        body = self._render(target, entry, run, transition)
        headers = {"Content-Type": "application/json", **signature_headers(target.secret, body)}
        event = Delivery(
            run.id,
            run.stack_id,
            transition.state,
            transition.state_version,
            target.url,
            body,
            headers,
        )
        knobs = self._chaos.knobs
        fate = self._chaos.webhook_fate(run.stack_id, run.ordinal, transition.state_version)
        if fate.drop or transition.state.value in knobs.webhook_drop_states:
            event.outcome = "dropped"
            self.deliveries.append(event)
            self._notify()
            return
        batch = [event, replace(event, copy=2, attempts=[])] if fate.duplicate else [event]
        self.deliveries.extend(batch)
        if (delay := knobs.webhook_delay_states.get(transition.state.value, 0.0)) > 0:
            self._tasks.spawn(self._send_late(run.id, batch, delay), f"webhook-late-{run.id}")
            return
        held = self._held.pop(run.id, None)
        if fate.reorder and held is None:
            self._held[run.id] = batch
            self._tasks.spawn(self._release_later(run.id, batch), f"webhook-hold-{run.id}")
            return
        self._chain(run.id, batch + (held or []))

    def _chain(self, run_id: str, batch: list[Delivery]) -> None:
        previous = self._tails.get(run_id)
        task = self._tasks.spawn(self._send_after(previous, batch), f"webhook-{run_id}")
        self._tails[run_id] = task
        task.add_done_callback(lambda done: self._forget(run_id, done))

    def _forget(self, run_id: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(run_id) is task:
            del self._tails[run_id]

    async def _release_later(self, run_id: str, batch: list[Delivery]) -> None:
        """Send a held event after the reorder delay if no later event of its run came."""
        await asyncio.sleep(self._chaos.knobs.webhook_reorder_delay)
        if self._held.get(run_id) is batch:
            del self._held[run_id]
            self._chain(run_id, batch)

    async def _send_late(self, run_id: str, batch: list[Delivery], delay: float) -> None:
        """Send an event ``delay`` seconds late, after what its run has in flight by then."""
        await asyncio.sleep(delay)
        self._chain(run_id, batch)

    async def _send_after(self, previous: asyncio.Task[None] | None, batch: list[Delivery]) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        for delivery in batch:
            await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> None:
        target = self.target or WebhookTarget(delivery.url, "")
        for attempt in range(target.retries + 1):
            if attempt:
                await asyncio.sleep(target.retry_backoff * 2 ** (attempt - 1))
            try:
                response = await self._http().post(
                    delivery.url,
                    content=delivery.body,
                    headers=delivery.headers,
                    timeout=target.timeout,  # the target's own, also after it changed
                )
            except httpx.HTTPError:
                delivery.attempts.append(0)
                continue
            delivery.attempts.append(response.status_code)
            if response.status_code < httpx.codes.INTERNAL_SERVER_ERROR:
                success = response.status_code < httpx.codes.BAD_REQUEST
                delivery.outcome = "delivered" if success else "rejected"
                self._notify()
                return
        delivery.outcome = "failed"
        self._notify()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client (the sandbox cancels deliveries still under way first)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
