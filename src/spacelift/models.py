"""Typed results of the Spacelift client.

Attributes are snake_case; each reads the camelCase field of the GraphQL answer. Fields the client
did not ask for are ignored, so a server that grows new fields breaks nothing. Nested shapes that
only carry an id (``trackedCommit { hash }``, ``dependsOn { dependsOnStack { id } }``) are
flattened to that id.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

DEPENDS_ON_LABEL = "depends-on:"


def run_url(endpoint: str, stack_id: str, run_id: str) -> str:
    """A run's web page in Spacelift: ``<endpoint>/stack/<stack>/run/<run>``."""
    return f"{endpoint.rstrip('/')}/stack/{stack_id}/run/{run_id}"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


def _unix_seconds(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return value


UnixTime = Annotated[datetime, BeforeValidator(_unix_seconds)]
"""A datetime that the API sends as unix seconds."""


class RunState(StrEnum):
    """Every state a Spacelift run can be in."""

    QUEUED = "QUEUED"
    READY = "READY"
    PREPARING = "PREPARING"
    INITIALIZING = "INITIALIZING"
    PLANNING = "PLANNING"
    UNCONFIRMED = "UNCONFIRMED"
    CONFIRMED = "CONFIRMED"
    PREPARING_APPLY = "PREPARING_APPLY"
    APPLYING = "APPLYING"
    PERFORMING = "PERFORMING"
    DESTROYING = "DESTROYING"
    PENDING_REVIEW = "PENDING_REVIEW"
    REPLAN_REQUESTED = "REPLAN_REQUESTED"
    PREPARING_REPLAN = "PREPARING_REPLAN"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    CANCELED = "CANCELED"
    DISCARDED = "DISCARDED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        """Whether the run can no longer change state (an unknown state: not as far as known)."""
        return self in _TERMINAL_STATES

    @classmethod
    def _missing_(cls, value: object) -> "RunState | None":
        """Keep a state this client does not know as it is, never an error.

        Spacelift's deprecated PENDING, or a state it adds later, counts as in progress.
        """
        if not isinstance(value, str) or not value:
            return None
        state = str.__new__(cls, value)
        state._name_ = value
        state._value_ = value
        return state


_TERMINAL_STATES = frozenset(
    {
        RunState.FINISHED,
        RunState.FAILED,
        RunState.STOPPED,
        RunState.CANCELED,
        RunState.DISCARDED,
        RunState.SKIPPED,
    }
)


class RunType(StrEnum):
    """Kinds of run; only TRACKED runs drive dependencies."""

    TRACKED = "TRACKED"
    PROPOSED = "PROPOSED"
    TASK = "TASK"
    TESTING = "TESTING"
    DESTROY = "DESTROY"
    PARSE = "PARSE"


class RunDelta(_Model):
    """Resources a run adds, changes and deletes."""

    add_count: int
    change_count: int
    delete_count: int

    @property
    def has_changes(self) -> bool:
        """Whether the run touches any resource."""
        return bool(self.add_count or self.change_count or self.delete_count)


class RunStateTransition(_Model):
    """One entry of a run's state history."""

    state: RunState
    state_version: int
    timestamp: UnixTime
    terminal: bool


class Run(_Model):
    """A run of a stack."""

    id: str
    state: RunState
    type: RunType
    created_at: UnixTime
    triggered_by: str | None = None
    finished: bool
    delta: RunDelta | None = None
    history: list[RunStateTransition] = Field(default_factory=list)

    @property
    def state_version(self) -> int:
        """The highest state version in the history; 0 when there is none."""
        return max((entry.state_version for entry in self.history), default=0)

    @property
    def updated_at(self) -> datetime:
        """When the run last changed state (its creation when the history is empty)."""
        return max((entry.timestamp for entry in self.history), default=self.created_at)


class StackOutput(_Model):
    """An output of a stack's last tracked run; ``value`` is null when sensitive."""

    id: str
    value: str | None = None
    sensitive: bool = False


def _ids_under(key: str) -> BeforeValidator:
    """Reads ``[{key: {"id": x}}, ...]`` as ``[x, ...]``; plain ids pass as they are."""

    def flatten(value: object) -> object:
        if not isinstance(value, list):
            return value
        return [
            item[key].get("id")
            if isinstance(item, dict) and isinstance(item.get(key), dict)
            else item
            for item in value
        ]

    return BeforeValidator(flatten)


class Stack(_Model):
    """A Spacelift stack, with its native dependencies flattened to stack ids."""

    id: str
    name: str
    description: str | None = None
    labels: list[str]
    branch: str
    state: str
    space: str
    tracked_commit: str | None = None
    is_disabled: bool = False
    locked_by: str | None = None
    outputs: list[StackOutput] = Field(default_factory=list)
    depends_on: Annotated[list[str], _ids_under("dependsOnStack")] = Field(default_factory=list)
    depended_on_by: Annotated[list[str], _ids_under("stack")] = Field(
        default_factory=list, alias="isDependedOnBy"
    )

    @field_validator("tracked_commit", mode="before")
    @classmethod
    def _commit_hash(cls, value: object) -> object:
        return value.get("hash") if isinstance(value, dict) else value

    def label_dependencies(self) -> list[str]:
        """Stack ids named by ``depends-on:<id>`` labels (the older, policy-based convention)."""
        return [
            label.removeprefix(DEPENDS_ON_LABEL).strip()
            for label in self.labels
            if label.startswith(DEPENDS_ON_LABEL) and label.removeprefix(DEPENDS_ON_LABEL).strip()
        ]


class Context(_Model):
    """A context: a bundle of configuration attachable to stacks."""

    id: str
    name: str
    description: str | None = None
    labels: list[str] = Field(default_factory=list)
    space: str | None = None


class ContextAttachment(_Model):
    """A context attached to a stack; ``id`` is what ``detach_context`` takes."""

    id: str
    stack_id: str
    priority: int


class Space(_Model):
    """A space: the unit of access control that stacks and contexts live in."""

    id: str
    name: str
    description: str | None = None
    parent_space: str | None = None
    inherit_entities: bool = False
    labels: list[str] = Field(default_factory=list)
