"""The operator API's request and response bodies, with the examples the OpenAPI document shows."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.stackfile.models import StackId
from temporal.inputs import ChainStatus, StackState

_CHAIN = "chain-network-01JD4Q8W5Z3K7M2N9P0R6S1T4V"
_STARTED = "2026-11-21T10:00:00+00:00"


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ErrorOut(BaseModel):
    """Every error: what went wrong."""

    model_config = _examples({"detail": "stack 'netwrk' is not in config/stacks.yaml"})
    detail: Any


class GraphOut(BaseModel):
    """The dependency graph; edges run upstream -> downstream."""

    model_config = _examples(
        {"stacks": ["network", "database", "app"], "edges": [["network", "database"]]}
    )
    stacks: list[str]
    edges: list[list[str]]


class PlanOut(BaseModel):
    """The waves a chain from ``root`` would run."""

    model_config = _examples({"root": "network", "waves": [["database"], ["app"]], "may_skip": []})
    root: str
    waves: list[list[str]]
    may_skip: list[str] = Field(
        default_factory=list, description="Stacks with trigger: on_change (may be skipped)."
    )


class StartChainIn(BaseModel):
    """Start a chain from ``stack`` (its descendants; the stack itself with ``include_root``)."""

    model_config = _examples({"stack": "network", "include_root": False})
    stack: StackId
    include_root: bool = False


class ChainStarted(BaseModel):
    """The id of the chain started."""

    model_config = _examples({"chain_id": "chain-network-manual-4f2a9c1b7d3e"})
    chain_id: str


class ChainSummary(BaseModel):
    """One chain in a listing."""

    chain_id: str
    root_stack: str | None
    status: ChainStatus
    started_at: str | None


class ChainList(BaseModel):
    """Chains, newest first."""

    model_config = _examples(
        {
            "chains": [
                {
                    "chain_id": _CHAIN,
                    "root_stack": "network",
                    "status": "running",
                    "started_at": _STARTED,
                }
            ]
        }
    )
    chains: list[ChainSummary]


class StackOut(BaseModel):
    """One stack in a chain. ``attempts`` counts the runs triggered; ``run_id`` is the latest."""

    model_config = ConfigDict(extra="allow")
    state: StackState
    run_id: str | None = None
    run_url: str | None = None
    attempts: int = 0
    depends_on: list[str] = Field(default_factory=list)


class ChainOut(BaseModel):
    """A chain and each of its stacks."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "chain_id": _CHAIN,
                    "root_stack": "network",
                    "root_run_id": "01JD4Q8W5Z3K7M2N9P0R6S1T4V",
                    "status": "running",
                    "started_at": _STARTED,
                    "finished_at": None,
                    "stacks": {
                        "database": {
                            "state": "running",
                            "run_id": "01JD4QF0A1B2C3D4E5F6G7H8J9",
                            "run_url": "https://acme.app.spacelift.io/stack/database/run/01JD4QF0A1B2C3D4E5F6G7H8J9",
                            "attempts": 1,
                            "depends_on": ["network"],
                        },
                        "app": {
                            "state": "pending",
                            "run_id": None,
                            "run_url": None,
                            "attempts": 0,
                            "depends_on": ["database"],
                        },
                    },
                }
            ]
        },
    )
    chain_id: str
    root_stack: str | None
    root_run_id: str | None = None
    status: ChainStatus
    started_at: str | None
    finished_at: str | None = None
    stacks: dict[str, StackOut]


class CancelOut(BaseModel):
    """The cancel was handed to the chain."""

    model_config = _examples({"chain_id": _CHAIN, "status": "canceling"})
    chain_id: str
    status: str = "canceling"


class ApproveOut(BaseModel):
    """The stack's waiting run was confirmed."""

    model_config = _examples({"chain_id": _CHAIN, "stack": "database", "run_id": "01JD4QF0A1B2"})
    chain_id: str
    stack: str
    run_id: str
