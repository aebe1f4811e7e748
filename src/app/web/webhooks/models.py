"""The bodies Spacelift sends to ``POST /webhooks/spacelift``, as pydantic models.

- :class:`RunStateEvent`: the default run-event payload (camelCase, unix seconds, ``stateVersion``);
- :class:`PolicyEvent`: a notification policy forwarding its own input (snake_case, nanosecond
  timestamps, wrapped in ``run_updated``);
- :class:`InternalErrorEvent`: an internal-error notice (logged, never acted on).

Only the fields stackchain uses are read; anything else in the body is ignored, so Spacelift can
add fields. Identifiers and states are constrained to what Spacelift produces, so a body that
parses can always become a workflow id and a signal.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from app.stackfile.models import StackId

MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
NANOSECONDS = 1_000_000_000

RUN_ID_MAX = 100
RunId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", min_length=1, max_length=RUN_ID_MAX)
]
Word = Annotated[str, Field(pattern=r"^[A-Z][A-Z_]*$", max_length=40)]
"""A run state or type as Spacelift spells them: ``FINISHED``, ``TRACKED``."""
UnixSeconds = Annotated[int, Field(strict=True, ge=0, le=MAX_UNIX_SECONDS)]
UnixNanos = Annotated[int, Field(strict=True, ge=0, le=MAX_UNIX_SECONDS * NANOSECONDS)]
Count = Annotated[int, Field(strict=True, ge=0, le=2**31)]
"""Numbers are JSON integers: ``false``, ``6.0`` or ``"6"`` are not a version or a time."""
Login = Annotated[str, Field(max_length=320)]
"""Who triggered a run: a login, an e-mail address, or ``api::<key id>`` for an API key."""


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class _Snake(BaseModel):
    model_config = ConfigDict(frozen=True)


class Commit(_Camel):
    """The commit a run is for."""

    hash: str | None = Field(None, max_length=100)


class Delta(_Camel):
    """How many resources a run adds, changes and deletes (``resources`` is not read)."""

    added: Count = 0
    changed: Count = 0
    deleted: Count = 0


class EventRun(_Camel):
    """The run in a default-shape event."""

    id: RunId
    type: Word
    created_at: UnixSeconds | None = None
    delta: Delta | None = None
    commit: Commit | None = None
    triggered_by: Login | None = None


class EventStack(_Camel):
    """The stack in either shape."""

    id: StackId


class RunStateEvent(_Camel):
    """The default payload: one state of one run."""

    state: Word
    state_version: Count
    timestamp: UnixSeconds | None = None
    run: EventRun
    stack: EventStack


class PolicyRun(_Snake):
    """The run in a notification policy's input."""

    id: RunId
    type: Word
    created_at: UnixNanos | None = None
    updated_at: UnixNanos
    commit: Commit | None = None
    triggered_by: Login | None = None


class RunUpdated(_Snake):
    """``run_updated``: the policy input's event."""

    state: Word
    run: PolicyRun
    stack: EventStack


class PolicyEvent(_Snake):
    """A notification policy's whole input, forwarded."""

    run_updated: RunUpdated


class InternalErrorEvent(_Snake):
    """An internal-error notice: something went wrong in Spacelift (a policy, an integration)."""

    title: str | None = None
    error: str
