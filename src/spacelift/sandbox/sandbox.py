"""The simulated account as one object: world, catalog, tokens, chaos and webhooks."""

import asyncio
import copy
from collections import Counter
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

import httpx

from spacelift.models import RunState
from spacelift.sandbox.auth import TokenStore
from spacelift.sandbox.catalog import Catalog
from spacelift.sandbox.chaos import ChaosEngine
from spacelift.sandbox.config import Outcome, SandboxConfig, WebhookTarget
from spacelift.sandbox.runs import Commit, ConflictError, SimRun, Transition
from spacelift.sandbox.runtime import Clock, Tasks
from spacelift.sandbox.webhooks import Delivery, WebhookSender
from spacelift.sandbox.world import StackEntry, World

PERSON = "sandbox-user"
"""Who a person's runs and actions are by, unless a login is given."""


class Sandbox:
    """A Spacelift account that lives in this process.

    Serve it with ``create_app(sandbox)``; drive it directly in tests (``push``,
    ``set_outcomes``, ``chaos.update``) and wait on it with ``wait_for_run_state`` and
    ``wait_until``, never with sleeps. ``webhook_transport`` sends webhooks through an httpx
    transport (an ``httpx.ASGITransport`` of an in-process receiver, say) instead of the network.
    """

    def __init__(
        self,
        config: SandboxConfig,
        *,
        clock: Clock | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.tasks = Tasks()
        self.chaos = ChaosEngine(copy.deepcopy(config.chaos))
        self.tokens = TokenStore(
            config.api_keys, config.api_tokens, config.token_lifetime, self.clock
        )
        self.webhooks = WebhookSender(
            config, self.chaos, self.tasks, self._notify, webhook_transport
        )
        self.world = World(config, self.clock, self.tasks, self._on_transition)
        self.catalog = Catalog(config, self.world.stacks, self.clock)
        self.transitions: list[tuple[SimRun, Transition]] = []
        """Every transition of every run, in the order they happened."""
        self.requests: Counter[str] = Counter()
        """GraphQL requests received, by operation name (those chaos refused included)."""
        self.closed = asyncio.Event()
        self._pulse = asyncio.Event()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every run and delivery under way, release hung requests, close the HTTP client."""
        self.closed.set()
        await self.tasks.aclose()
        await self.webhooks.aclose()

    def _on_transition(
        self, entry: StackEntry, run: SimRun, transition: Transition, *, publish: bool = True
    ) -> None:
        self.transitions.append((run, transition))
        if publish:
            self.webhooks.publish(entry, run, transition)
        self._notify()

    def _notify(self) -> None:
        """Wake everything waiting in ``wait_until``: something changed."""
        self._pulse.set()
        self._pulse = asyncio.Event()

    # --- driving the sandbox ------------------------------------------------------------------

    def push(self, stack_id: str, *, commit: Commit | None = None) -> SimRun:
        """A commit lands on the stack's branch: a TRACKED run starts, as after a git push."""
        return self.world.push(stack_id, commit)

    def trigger_as(self, stack_id: str, login: str = PERSON) -> SimRun:
        """A person presses Trigger on the stack: a TRACKED run, ``triggeredBy`` their login.

        The run is of the tracked commit and goes through the stack's queue like any other; only
        who made it differs from ``runTrigger`` with an API key (``api::<key>``).
        """
        return self.world.trigger(stack_id, triggered_by=login, source="person")

    def record_finished_run(
        self,
        stack_id: str,
        *,
        finished_seconds_ago: float,
        took: float = 60.0,
        login: str = PERSON,
        send_webhook: bool = False,
    ) -> SimRun:
        """A TRACKED run that FINISHED ``finished_seconds_ago``, as if in the stack's history.

        It ran ``took`` seconds, by the sandbox's clock, and was triggered by ``login``. With
        ``send_webhook`` its FINISHED event is sent now, carrying that old time (a late delivery).
        """
        if finished_seconds_ago < 0 or took <= 0:
            msg = "finished_seconds_ago must be >= 0 and took > 0"
            raise ValueError(msg)
        finished_at = self.clock.now() - finished_seconds_ago
        return self.world.record_finished(
            stack_id, finished_at=finished_at, took=took, by=login, send_webhook=send_webhook
        )

    def set_outcomes(self, stack_id: str, outcomes: Iterable[str | Outcome]) -> None:
        """How the stack's next TRACKED runs end: ``FINISHED``, ``FAILED``, ``FAILED:APPLYING``."""
        parsed = [item if isinstance(item, Outcome) else Outcome.parse(item) for item in outcomes]
        self.world.set_outcomes(stack_id, parsed)

    def set_webhook(self, target: WebhookTarget | None) -> None:
        """Send later events to ``target`` (``None``: send none)."""
        self.webhooks.target = target

    def runs(self, stack_id: str | None = None) -> list[SimRun]:
        """Every run, or those of one stack, oldest first."""
        if stack_id is None:
            return self.world.all_runs()
        return list(self.world.entry(stack_id).runs)

    def run(self, stack_id: str, run_id: str) -> SimRun:
        """One run."""
        return self.world.run(stack_id, run_id)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook event so far, in the order of the transitions (dropped ones included)."""
        return self.webhooks.deliveries

    # --- waiting ------------------------------------------------------------------------------

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline is what a wait helper takes
        what: str = "the condition",
    ) -> None:
        """Return once ``condition()`` holds; it is checked after every change in the sandbox."""
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    await self._pulse.wait()
        except TimeoutError:
            msg = f"sandbox: {what} did not happen within {timeout:g} s"
            raise TimeoutError(msg) from None

    async def wait_for_run_state(
        self,
        stack_id: str,
        run_id: str,
        state: RunState | str,
        timeout: float = 5.0,  # noqa: ASYNC109 - as above
    ) -> SimRun:
        """The run, once it has reached ``state``; ``ConflictError`` if it ended without."""
        run, wanted = self.run(stack_id, run_id), RunState(state)
        what = f"run {run_id} of {stack_id} reaching {wanted}"
        await self.wait_until(lambda: run.reached(wanted) or run.is_terminal, timeout, what)
        if not run.reached(wanted):
            msg = f"run {run_id} of {stack_id} ended {run.state} without reaching {wanted}"
            raise ConflictError(msg)
        return run

    async def wait_for_deliveries(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - as above
    ) -> list[Delivery]:
        """Every delivery, once none is pending any more (sent, failed or dropped)."""
        await self.wait_until(
            lambda: all(item.outcome != "pending" for item in self.deliveries),
            timeout,
            "every webhook delivery ending",
        )
        return self.deliveries
