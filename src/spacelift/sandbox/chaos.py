"""Chaos knobs: what the sandbox does wrong on purpose, reproducibly.

Request faults are drawn from one RNG seeded with ``Chaos.seed``, in the order requests arrive.
Webhook fates are drawn per event from an RNG seeded with (seed, stack, run ordinal, state
version), so they do not depend on how runs of different stacks interleave in time.
"""

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from spacelift.models import RunState

FaultKind = Literal["error", "rate_limit", "hang", "lose_answer"]
LoseWith = Literal["status", "hang", "drop"]
LOGIN_OPERATION = "apikeyuser"


@dataclass
class Fault:
    """A fault for the next ``count`` GraphQL requests of one operation.

    ``kind``: ``error`` answers ``status`` (default 503) without executing; ``rate_limit`` answers
    429 with ``Retry-After``; ``hang`` holds the request for ``Chaos.hang_seconds`` and then answers
    504; ``lose_answer`` executes the request (a trigger creates its run) and then loses the
    answer: ``status`` (default 502), ``hang``, or ``drop`` (the connection is cut).
    ``operation`` is the operation name (``RunTrigger``) or root field (``runTrigger``), any case;
    ``None`` matches every request except the API key log-in.
    """

    kind: FaultKind
    operation: str | None = None
    count: int = 1
    status: int = 0
    lose_with: LoseWith = "status"

    def __post_init__(self) -> None:
        if self.kind not in get_args(FaultKind) or self.lose_with not in get_args(LoseWith):
            msg = f"fault {self.kind!r}/{self.lose_with!r}: unknown kind or lose_with"
            raise ValueError(msg)
        if self.status == 0:
            self.status = {"error": 503, "rate_limit": 429, "hang": 504}.get(self.kind, 502)

    def matches(self, names: frozenset[str]) -> bool:
        """Whether a request known by ``names`` (lower-cased operation and root fields) is hit."""
        if self.operation is None:
            return LOGIN_OPERATION not in names
        return self.operation.lower() in names


@dataclass
class Chaos:
    """Every chaos knob, all off by default. Rates are probabilities in [0, 1].

    Webhooks: ``webhook_drop_rate`` (never sent), ``webhook_duplicate_rate`` (sent twice),
    ``webhook_reorder_rate`` (held back and sent after the run's next event, or after
    ``webhook_reorder_delay`` seconds when none follows). By run state, for every run:
    ``webhook_drop_states`` (``["FINISHED"]``: those events are never sent) and
    ``webhook_delay_states`` (``{"UNCONFIRMED": 2.5}``: sent that many seconds late; the run's
    later events do not wait for it, so they may arrive first). GraphQL requests other than the
    log-in: ``error_rate`` (answered ``error_status``), ``rate_limit_rate`` (429 with ``Retry-After:
    retry_after``), ``hang_rate`` (held ``hang_seconds``, then 504), ``lose_trigger_rate``
    (``runTrigger`` creates the run, then answers 502). ``faults`` target the next N requests.
    """

    seed: int = 0
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_reorder_rate: float = 0.0
    webhook_reorder_delay: float = 0.2
    webhook_drop_states: list[str] = field(default_factory=list)
    webhook_delay_states: dict[str, float] = field(default_factory=dict)
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    lose_trigger_rate: float = 0.0
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        states: object = self.webhook_drop_states  # from JSON, it may be anything
        if not isinstance(states, list | tuple):
            msg = 'webhook_drop_states is a list of run states, such as ["FINISHED"]'
            raise TypeError(msg)
        self.webhook_drop_states = [_state(name) for name in states]
        delays = dict(self.webhook_delay_states)
        for name, seconds in delays.items():
            _state(name)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                msg = f"webhook_delay_states[{name!r}]: {seconds!r} is not a number of seconds >= 0"
                raise ValueError(msg)
        self.webhook_delay_states = {name: float(seconds) for name, seconds in delays.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Chaos":
        """Knobs from JSON-like data; unknown keys are an error."""
        return cls().updated(data)

    def updated(self, patch: Mapping[str, Any]) -> "Chaos":
        """A copy with the knobs in ``patch`` changed; ``faults`` replaces the list."""
        known = {knob.name for knob in dataclasses.fields(self)}
        if unknown := sorted(set(patch) - known):
            msg = f"unknown chaos knobs: {', '.join(unknown)}"
            raise ValueError(msg)
        values = dict(patch)
        if "faults" in values:
            values["faults"] = [_fault(item) for item in values["faults"]]
        return dataclasses.replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        """The knobs as JSON-ready data."""
        return dataclasses.asdict(self)


def _state(name: object) -> str:
    """A run state's name, checked: a typo would otherwise silently match nothing."""
    if not isinstance(name, str) or name not in RunState.__members__:
        msg = f"{name!r} is not a run state (one of {', '.join(RunState)})"
        raise ValueError(msg)
    return name


def _fault(item: object) -> Fault:
    if isinstance(item, Fault):
        return item
    if not isinstance(item, Mapping):
        msg = "a fault is an object with kind, operation, count, status, lose_with"
        raise TypeError(msg)
    return Fault(**item)


@dataclass(frozen=True)
class WebhookFate:
    """What happens to one webhook event."""

    drop: bool = False
    duplicate: bool = False
    reorder: bool = False


class ChaosEngine:
    """Holds the current knobs and draws the faults they call for."""

    def __init__(self, knobs: Chaos) -> None:
        self.knobs = knobs
        self._rng = random.Random(knobs.seed)  # noqa: S311 - reproducible chaos, not security

    def update(self, patch: Mapping[str, Any]) -> Chaos:
        """Change some knobs; a new ``seed`` restarts the request RNG."""
        self.knobs = self.knobs.updated(patch)
        if "seed" in patch:
            self._rng = random.Random(self.knobs.seed)  # noqa: S311 - as above
        return self.knobs

    def add_fault(self, fault: Fault) -> None:
        """Queue a targeted fault after those already queued."""
        self.knobs.faults.append(fault)

    def request_fault(self, names: frozenset[str]) -> Fault | None:
        """The fault for a request known by ``names`` (lower-cased), or ``None``."""
        for fault in self.knobs.faults:
            if fault.count > 0 and fault.matches(names):
                fault.count -= 1
                self.knobs.faults = [kept for kept in self.knobs.faults if kept.count > 0]
                return fault
        if LOGIN_OPERATION in names:
            return None
        return self._random_fault(names)

    def _random_fault(self, names: frozenset[str]) -> Fault | None:
        knobs = self.knobs
        rates: list[tuple[float, Fault]] = [
            (knobs.error_rate, Fault("error", status=knobs.error_status)),
            (knobs.rate_limit_rate, Fault("rate_limit")),
            (knobs.hang_rate, Fault("hang")),
        ]
        if "runtrigger" in names:
            rates.append((knobs.lose_trigger_rate, Fault("lose_answer")))
        for rate, fault in rates:
            if rate > 0 and self._rng.random() < rate:
                return fault
        return None

    def webhook_fate(self, stack_id: str, ordinal: int, state_version: int) -> WebhookFate:
        """The fate of one event, the same for the same seed whatever the timing."""
        knobs = self.knobs
        rng = random.Random(f"{knobs.seed}:{stack_id}:{ordinal}:{state_version}")  # noqa: S311
        drop, duplicate, reorder = (rng.random() for _ in range(3))
        return WebhookFate(
            drop=drop < knobs.webhook_drop_rate,
            duplicate=duplicate < knobs.webhook_duplicate_rate,
            reorder=reorder < knobs.webhook_reorder_rate,
        )
