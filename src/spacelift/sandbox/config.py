"""What the sandbox simulates, as plain dataclasses.

The app layer builds a ``SandboxConfig`` from its dependency file; tests build one directly, or
from JSON-like data with ``SandboxConfig.from_fixture``. Durations are seconds.
"""

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from spacelift.models import RunState
from spacelift.sandbox.chaos import Chaos

FAIL_PHASES = (RunState.PREPARING, RunState.PLANNING, RunState.APPLYING)
DEFAULT_KEY_ID = "sandbox"
DEFAULT_KEY_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's well-known demo key
WebhookShape = Literal["default", "policy"]


@dataclass(frozen=True)
class Outcome:
    """How a run ends: FINISHED, or FAILED at ``fail_at`` (PREPARING, PLANNING or APPLYING)."""

    fail_at: RunState | None = None

    @classmethod
    def parse(cls, text: str) -> "Outcome":
        """``FINISHED``, ``FAILED`` (at PLANNING) or ``FAILED:<PHASE>``."""
        state, _, phase = text.strip().upper().partition(":")
        if state == "FINISHED" and not phase:
            return cls()
        if state == "FAILED" and (phase or "PLANNING") in FAIL_PHASES:
            return cls(RunState(phase or "PLANNING"))
        msg = f"outcome {text!r}: expected FINISHED, FAILED or FAILED:PREPARING|PLANNING|APPLYING"
        raise ValueError(msg)

    def __str__(self) -> str:
        return "FINISHED" if self.fail_at is None else f"FAILED:{self.fail_at}"


@dataclass(frozen=True)
class Delta:
    """Resources a stack's runs add, change and delete, out of ``resources`` it manages."""

    added: int = 1
    changed: int = 0
    deleted: int = 0
    resources: int = 10


@dataclass(frozen=True)
class Durations:
    """How long a run stays in each phase, in seconds."""

    queued: float = 0.005
    preparing: float = 0.01
    planning: float = 0.02
    applying: float = 0.02

    def of(self, state: RunState) -> float:
        """The duration of ``state``; 0 for a state that is not a timed phase."""
        return float(getattr(self, state.value.lower(), 0.0))


@dataclass(frozen=True)
class SandboxStack:
    """One stack and how its runs behave.

    ``outcome`` is how every run ends unless ``failure_rate`` (seeded) fails it at
    ``failure_phase``, or a queued next outcome (``Sandbox.set_outcomes``) says otherwise.
    ``autodeploy`` defaults to True (Spacelift's default is False) so chains run unattended;
    without it runs wait in UNCONFIRMED. ``depends_on`` are Spacelift-native dependencies.
    """

    id: str
    name: str = ""
    description: str = ""
    labels: tuple[str, ...] = ()
    space: str = "root"
    branch: str = "main"
    repository: str = "infra"
    autodeploy: bool = True
    is_disabled: bool = False
    depends_on: tuple[str, ...] = ()
    durations: Durations = Durations()
    outcome: Outcome = Outcome()
    failure_rate: float = 0.0
    failure_phase: RunState = RunState.PLANNING
    delta: Delta = Delta()
    outputs: Mapping[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """``name``, or the id when no name was given."""
        return self.name or self.id


@dataclass(frozen=True)
class SandboxContext:
    """A context (a bundle of configuration that can be attached to stacks)."""

    id: str
    name: str = ""
    description: str = ""
    labels: tuple[str, ...] = ()
    space: str = "root"


@dataclass(frozen=True)
class SandboxSpace:
    """A space; ``root`` always exists and need not be listed."""

    id: str
    name: str = ""
    description: str = ""
    parent_space: str | None = "root"
    inherit_entities: bool = True
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookTarget:
    """Where run events go, signed with ``secret``; ``shape`` is default (camelCase) or policy."""

    url: str
    secret: str
    shape: WebhookShape = "default"
    endpoint_id: str = "stackchain"
    retries: int = 3
    retry_backoff: float = 0.05
    timeout: float = 5.0


ROOT_SPACE = SandboxSpace("root", name="root", description="The root space", parent_space=None)


@dataclass(frozen=True)
class SandboxConfig:
    """The whole simulated account."""

    stacks: tuple[SandboxStack, ...] = ()
    contexts: tuple[SandboxContext, ...] = ()
    spaces: tuple[SandboxSpace, ...] = ()
    account: str = "sandbox"
    url: str = ""
    api_keys: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_KEY_ID: DEFAULT_KEY_SECRET}
    )
    api_tokens: tuple[str, ...] = ()
    token_lifetime: float = 3600.0
    webhook: WebhookTarget | None = None
    chaos: Chaos = field(default_factory=Chaos)
    seed: int = 0

    def __post_init__(self) -> None:
        if problems := _problems(self):
            raise ValueError("invalid sandbox config: " + "; ".join(problems))

    @property
    def all_spaces(self) -> tuple[SandboxSpace, ...]:
        """The spaces, with ``root`` first (added when not listed)."""
        listed = any(space.id == ROOT_SPACE.id for space in self.spaces)
        return self.spaces if listed else (ROOT_SPACE, *self.spaces)

    @property
    def base_url(self) -> str:
        """The account URL that run links start with."""
        return self.url.rstrip("/") or f"https://{self.account}.app.spacelift.io"

    @classmethod
    def from_fixture(cls, data: Mapping[str, Any]) -> "SandboxConfig":
        """A config from JSON-like data: the same field names, lists for tuples.

        ``stacks`` is a list of objects with ``id``, or an object keyed by stack id; ``outcome``
        and ``failure_phase`` are strings, ``durations``, ``delta``, ``webhook`` and ``chaos``
        objects. Unknown keys are an error.
        """
        config: SandboxConfig = _make(
            cls,
            data,
            stacks=_stacks,
            contexts=_list_of(SandboxContext),
            spaces=_list_of(SandboxSpace),
            webhook=_of(WebhookTarget),
            chaos=Chaos.from_dict,
            api_keys=dict,
        )
        return config


def _problems(config: SandboxConfig) -> list[str]:
    """Duplicate ids and references to spaces or stacks that do not exist."""
    spaces = {space.id for space in config.all_spaces}
    stacks = {stack.id for stack in config.stacks}
    problems = [
        *_duplicates("stack", [stack.id for stack in config.stacks]),
        *_duplicates("context", [context.id for context in config.contexts]),
        *_duplicates("space", [space.id for space in config.all_spaces]),
    ]
    problems.extend(
        f"space {space.id!r}: no parent space {space.parent_space!r}"
        for space in config.all_spaces
        if space.parent_space is not None and space.parent_space not in spaces
    )
    placed: list[SandboxStack | SandboxContext] = [*config.stacks, *config.contexts]
    problems.extend(
        f"{item.id!r}: no space {item.space!r}" for item in placed if item.space not in spaces
    )
    for stack in config.stacks:
        problems.extend(
            f"stack {stack.id!r}: depends on unknown stack {upstream!r}"
            for upstream in stack.depends_on
            if upstream not in stacks
        )
    return problems


def _duplicates(kind: str, ids: list[str]) -> list[str]:
    return [f"{kind} {item!r} is listed twice" for item in sorted(set(ids)) if ids.count(item) > 1]


def _make(cls: type[Any], data: object, **convert: Callable[[Any], object]) -> Any:  # noqa: ANN401 - the instance of cls
    if not isinstance(data, Mapping):
        msg = f"{cls.__name__}: expected an object, got {type(data).__name__}"
        raise TypeError(msg)
    known = {item.name for item in dataclasses.fields(cls)}
    if unknown := sorted(set(data) - known):
        msg = f"{cls.__name__}: unknown keys {', '.join(unknown)}"
        raise ValueError(msg)
    values = {
        key: convert[key](value) if key in convert else _tuple(value) for key, value in data.items()
    }
    return cls(**values)


def _tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _of(cls: type[Any]) -> Callable[[Any], object]:
    return lambda data: _make(cls, data)


def _list_of(cls: type[Any]) -> Callable[[Any], object]:
    return lambda items: tuple(_make(cls, item) for item in items)


def _stack(data: Mapping[str, Any]) -> SandboxStack:
    result: SandboxStack = _make(
        SandboxStack,
        data,
        durations=_of(Durations),
        delta=_of(Delta),
        outcome=Outcome.parse,
        failure_phase=RunState,
        outputs=dict,
    )
    return result


def _stacks(data: object) -> tuple[SandboxStack, ...]:
    if isinstance(data, Mapping):
        return tuple(_stack({"id": key, **(value or {})}) for key, value in data.items())
    if isinstance(data, list):
        return tuple(_stack(item) for item in data)
    msg = "stacks: expected a list of objects with an id, or an object keyed by stack id"
    raise TypeError(msg)
