"""The dependency file as pydantic models, and the policy each stack ends up with.

The models describe the file (and generate its JSON Schema); :class:`StackPolicy` and
:class:`ChainPolicy` are the resolved values, defaults merged in, that chains run with.
"""

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from app.stackfile.durations import SYNTAX_HINT, Duration
from temporal.inputs import Confirm, OnFailure, Trigger

STACK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""Spacelift stack ids are slugs; anything else could not be a stack and breaks the drawings."""

POLICY_KEYS = ("retries", "retry_backoff", "on_failure", "confirm", "trigger")
"""The keys ``defaults`` and each stack share."""

STACK_ID_MAX = 200
"""The longest stack id stackchain takes, in the file, in webhooks and in the API."""

StackId = Annotated[str, Field(pattern=STACK_ID_PATTERN, min_length=1, max_length=STACK_ID_MAX)]

_DURATION_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^(\d+(ms|s|m|h|d))+$", "description": SYNTAX_HINT}
)
FileDuration = Annotated[Duration, _DURATION_SCHEMA]


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ChainSettings(_FileModel):
    """``chain:``: limits of one chain."""

    max_parallel: StrictInt = Field(4, ge=1, description="most runs in flight at once")
    run_timeout: Annotated[FileDuration, Field(gt=timedelta())] = Field(
        timedelta(hours=2),
        description="give up waiting for one run after this",
        json_schema_extra={"default": "2h"},
    )


class StackDefaults(_FileModel):
    """``defaults:``: the policy of every stack that does not say otherwise."""

    retries: StrictInt = Field(1, ge=0, description="extra runs after a FAILED run")
    retry_backoff: FileDuration = Field(
        timedelta(minutes=1),
        description="wait before the first extra run; doubles each time",
        json_schema_extra={"default": "1m"},
    )
    on_failure: OnFailure = OnFailure.SKIP_DEPENDENTS
    confirm: Confirm = Field(Confirm.WAIT, description="who confirms UNCONFIRMED runs")
    trigger: Trigger = Field(
        Trigger.ALWAYS, description="on_change: run only if an upstream run changed resources"
    )


def _inherited_keys(schema: dict[str, Any]) -> None:
    # a stack's policy keys default to `defaults`, not to the null pydantic would write
    for key in POLICY_KEYS:
        schema["properties"][key].pop("default", None)


def _stack_ids(schema: dict[str, Any]) -> None:
    # a bad id is an error, and `network:` with nothing after it is allowed
    [(pattern, entry)] = schema["patternProperties"].items()
    schema["patternProperties"] = {pattern: {"anyOf": [entry, {"type": "null"}]}}
    schema["additionalProperties"] = False
    schema.pop("propertyNames", None)


class StackEntry(_FileModel):
    """One stack under ``stacks:``; any policy key left out comes from ``defaults``."""

    model_config = ConfigDict(json_schema_extra=_inherited_keys)

    depends_on: list[StrictStr] = Field(
        default_factory=list, description="the stacks that must succeed before this one runs"
    )
    retries: Annotated[StrictInt, Field(ge=0)] | SkipJsonSchema[None] = None
    retry_backoff: FileDuration | SkipJsonSchema[None] = None
    on_failure: OnFailure | SkipJsonSchema[None] = None
    confirm: Confirm | SkipJsonSchema[None] = None
    trigger: Trigger | SkipJsonSchema[None] = None


class StackFileModel(_FileModel):
    """The whole file: ``version``, ``chain``, ``defaults`` and ``stacks``."""

    model_config = ConfigDict(title="stackchain dependency file")

    version: Literal[1] = Field(description="the file format; 1 is the only one")
    chain: ChainSettings = Field(default_factory=ChainSettings)
    defaults: StackDefaults = Field(default_factory=StackDefaults)
    stacks: dict[StackId, StackEntry] = Field(
        description="Spacelift stack id: its dependencies and policy",
        json_schema_extra=_stack_ids,
    )

    @field_validator("stacks", mode="before")
    @classmethod
    def _empty_entries(cls, value: object) -> object:
        # `network:` with nothing after it means the same as `network: {}`
        if isinstance(value, dict):
            return {key: {} if entry is None else entry for key, entry in value.items()}
        return value


@dataclass(frozen=True, slots=True)
class StackPolicy:
    """How a chain treats one stack: the file's defaults with the stack's own keys on top."""

    retries: int
    retry_backoff: timedelta
    on_failure: OnFailure
    confirm: Confirm
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class ChainPolicy:
    """The limits every chain from this file runs under."""

    max_parallel: int
    run_timeout: timedelta


def resolve_policies(
    defaults: StackDefaults, stacks: dict[str, StackEntry]
) -> dict[str, StackPolicy]:
    """Each stack's own keys merged over the defaults; stacks without any share one policy."""
    base = StackPolicy(**{key: getattr(defaults, key) for key in POLICY_KEYS})
    policies = {}
    for stack, entry in stacks.items():
        own = {key: getattr(entry, key) for key in POLICY_KEYS}
        own = {key: value for key, value in own.items() if value is not None}
        policies[stack] = dataclasses.replace(base, **own) if own else base
    return policies
