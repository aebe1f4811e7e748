"""Spacelift webhooks: check the signature, parse either payload shape, route to the stack's lane.

The handler decides nothing about chains. Every event of a tracked run of a configured stack goes
to that stack's lane (signal-with-start, so it needs Temporal but not a worker); the lane knows
which runs stackchain triggered, follows them, and starts ``chain-<stack>-<run>`` for a finished
root run. Everything else is answered "ignored" with the reason, among them a "stale event": one
older than ``STACKCHAIN_EVENT_MAX_AGE`` by its own time (a late or replayed delivery), which is
never signalled. Duplicates the server remembers are answered "duplicate"; the lane drops the ones
it forgot (by ``stateVersion`` or timestamp).

A notification policy that forwards its whole input sends other kinds of event to the same
webhook (``internal_error``, ``module_version``, kinds Spacelift adds later). A signed JSON object
that is not a run event is answered "ignored", never 422: Spacelift disables a webhook after 10
failed deliveries in a row. Only a body that is not a JSON object, or a run event (it has
``run_updated``, ``run`` or ``stateVersion``) with malformed fields, is 422.
"""

import hashlib
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from app.core.errors import BadSignatureError, UnprocessableError
from app.core.graph_source import GraphSource
from app.core.logs import bind_context, get_logger
from app.web.bounded import BoundedSet
from app.web.metrics import Metrics
from app.web.webhooks.events import Delivery, is_stale, to_delivery
from app.web.webhooks.models import InternalErrorEvent, PolicyEvent, RunStateEvent
from spacelift import RunType
from temporal import runstates
from temporal.inputs import RunEvent

SIGNATURE_HEADER = "X-Signature-256"
MAX_BODY_BYTES = 1024 * 1024
REMEMBERED_DELIVERIES = 10_000
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ENVELOPE = frozenset({"account", "webhook_endpoints"})
"""Keys a notification policy's input has beside its event's own key (``module_version``...)."""

LaneSignaler = Callable[[RunEvent], Awaitable[None]]
"""Hands one event to its stack's lane; raises ``TemporalUnavailableError`` when it cannot."""

log = get_logger(__name__)


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers, and the outcome label for the metrics."""

    status_code: int
    body: dict[str, str]
    outcome: str


def verify_signature(secret: bytes, body: bytes, header: str | None) -> None:
    """Check ``sha256=<hex HMAC-SHA256(secret, body)>`` in constant time, before any parsing."""
    if header is None:
        msg = f"missing {SIGNATURE_HEADER}"
        raise BadSignatureError(msg)
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        msg = f"malformed {SIGNATURE_HEADER}: expected sha256=<64 hex digits>"
        raise BadSignatureError(msg)
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        msg = f"{SIGNATURE_HEADER} does not match the body"
        raise BadSignatureError(msg)


def _problems(error: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False)[:5]
    ]
    return "; ".join(parts)


@dataclass(frozen=True)
class OtherEvent:
    """A signed JSON object that is not a run event: some other kind of Spacelift notification."""

    kind: str


def event_kind(data: dict[str, Any]) -> str:
    """The kind a notification policy's body names by its key (``module_version``), or "unknown".

    Only a short snake_case key is told back, so the answer and the log never echo arbitrary text.
    """
    kinds = sorted(key for key in data if key not in _ENVELOPE and _KIND.fullmatch(key))
    return kinds[0] if len(kinds) == 1 else "unknown"


def parse_event(body: bytes) -> Delivery | InternalErrorEvent | OtherEvent:
    """The body as a run event (either shape), an internal-error notice, or another kind.

    422 for a body that is not a JSON object, or a run event whose fields are malformed.
    """
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        msg = "the body is not JSON"
        raise UnprocessableError(msg) from None
    if not isinstance(data, dict):
        msg = "the body is not a JSON object"
        raise UnprocessableError(msg)
    try:
        if "run_updated" in data:
            return to_delivery(PolicyEvent.model_validate(data))
        if "run" in data or "stateVersion" in data:
            return to_delivery(RunStateEvent.model_validate(data))
    except ValidationError as error:
        msg = f"not a Spacelift run event: {_problems(error)}"
        raise UnprocessableError(msg) from None
    if "error" in data:
        try:
            return InternalErrorEvent.model_validate(data)
        except ValidationError:
            pass  # not the internal-error shape after all: some other kind, ignored below
    return OtherEvent(event_kind(data))


def _ignored(reason: str) -> Answer:
    return Answer(200, {"status": "ignored", "reason": reason}, "ignored")


def _not_a_run_event(parsed: InternalErrorEvent | OtherEvent) -> Answer:
    """Logged and ignored: an internal error (worth an operator's look), or another kind."""
    if isinstance(parsed, InternalErrorEvent):
        log.warning("spacelift internal error", title=parsed.title, error=parsed.error)
        return _ignored("internal-error event")
    notice = log.warning if parsed.kind == "internal_error" else log.info
    notice("not a run event: ignored", kind=parsed.kind)
    return _ignored(f"not a run event ({parsed.kind})")


class WebhookHandler:
    """Verifies, parses and routes one delivery.

    ``max_age`` is ``STACKCHAIN_EVENT_MAX_AGE``; ``clock`` (unix seconds) says what time it is,
    so tests can post old samples at their own time.
    """

    def __init__(
        self,
        *,
        secret: bytes,
        graphs: GraphSource,
        signal: LaneSignaler,
        metrics: Metrics,
        max_age: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._graphs = graphs
        self._signal = signal
        self._metrics = metrics
        self._max_age = max_age
        self._clock = clock
        # The deliveries handed to Temporal, by (run id, state, stateVersion or updated_at).
        self._recent = BoundedSet[tuple[str, ...]](REMEMBERED_DELIVERIES)

    async def handle(self, body: bytes, signature: str | None) -> Answer:
        """Answer one delivery whose body was read within the cap."""
        verify_signature(self._secret, body, signature)
        parsed = parse_event(body)
        if not isinstance(parsed, Delivery):
            return _not_a_run_event(parsed)
        event = parsed.event
        bind_context(stack_id=event.stack_id, run_id=event.run_id)
        if event.run_type != RunType.TRACKED:
            return _ignored(f"{event.run_type.lower()} run: only tracked runs start chains")
        # While the file is broken the last good graph filters; with none at all the event goes
        # to the lane anyway (its planner retries until the file is fixed, so no root is lost).
        graph = self._graphs.graph_or_last_good()
        if graph is not None and event.stack_id not in graph:
            return _ignored(f"stack '{event.stack_id}' is not in the dependency file")
        if is_stale(event, datetime.fromtimestamp(self._clock(), UTC), self._max_age):
            log.warning("stale run event ignored", state=event.state, at=str(event.timestamp))
            return _ignored("stale event")
        if parsed.key in self._recent:
            return Answer(200, {"status": "ignored", "reason": "duplicate"}, "duplicate")
        await self._signal(event)
        self._recent.add(parsed.key)
        log.info("run event handed to the lane", state=event.state)
        self._observe(event)
        return Answer(202, {"status": "accepted"}, "accepted")

    def _observe(self, event: RunEvent) -> None:
        if not runstates.is_terminal(event.state):
            return
        self._metrics.stack_runs.labels(stack=event.stack_id, state=event.state).inc()
        if event.created_at is not None and event.timestamp is not None:
            seconds = (event.timestamp - event.created_at).total_seconds()
            if seconds >= 0:
                self._metrics.run_seconds.labels(state=event.state).observe(seconds)
