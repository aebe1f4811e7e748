"""A plan: the stacks a chain covers, their upstreams within it, their policies and waves.

Plain frozen data (ids, tuples, numbers and enums) so a workflow can take it as its input:
:meth:`Plan.to_dict` gives JSON-ready data and :meth:`Plan.from_dict` reads it back.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.stackfile.models import ChainPolicy, Confirm, OnFailure, StackPolicy, Trigger


@dataclass(frozen=True, slots=True)
class PlannedStack:
    """One stack of a plan. ``upstreams`` are only those inside the plan."""

    id: str
    wave: int
    upstreams: tuple[str, ...]
    policy: StackPolicy

    @property
    def may_skip(self) -> bool:
        """``trigger: on_change``: the chain skips it when no upstream run changed resources."""
        return self.policy.trigger is Trigger.ON_CHANGE and self.wave > 0


@dataclass(frozen=True, slots=True)
class Plan:
    """What a chain from ``root`` runs; ``stacks`` are sorted by wave, then id.

    Wave 0 is the root, present only with ``include_root``; a stack's wave is one more than the
    latest of its upstreams in the plan, the earliest it can start.
    """

    root: str
    include_root: bool
    chain: ChainPolicy
    stacks: tuple[PlannedStack, ...]

    @property
    def stack_ids(self) -> tuple[str, ...]:
        """The ids of the stacks in the plan, wave by wave."""
        return tuple(stack.id for stack in self.stacks)

    def stack(self, stack_id: str) -> PlannedStack:
        """The planned stack ``stack_id``; KeyError when the plan does not cover it."""
        for stack in self.stacks:
            if stack.id == stack_id:
                return stack
        raise KeyError(stack_id)

    @property
    def waves(self) -> tuple[tuple[str, ...], ...]:
        """Stack ids wave by wave, the first wave first (the root's, with ``include_root``)."""
        waves: dict[int, list[str]] = {}
        for stack in self.stacks:
            waves.setdefault(stack.wave, []).append(stack.id)
        return tuple(tuple(ids) for _, ids in sorted(waves.items()))

    @property
    def first_wave(self) -> int:
        """The number of the first wave: 0 with the root, else 1."""
        return 0 if self.include_root else 1

    @property
    def may_skip(self) -> tuple[str, ...]:
        """Stacks with ``trigger: on_change``, which run only if an upstream changed resources."""
        return tuple(stack.id for stack in self.stacks if stack.may_skip)

    def to_api(self) -> dict[str, Any]:
        """The shape of ``GET /api/v1/plan``: ``{"root": ..., "waves": [[...], ...]}``."""
        return {
            "root": self.root,
            "waves": [list(wave) for wave in self.waves],
            "may_skip": list(self.may_skip),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything in JSON-ready types; durations in seconds."""
        return {
            "root": self.root,
            "include_root": self.include_root,
            "max_parallel": self.chain.max_parallel,
            "run_timeout_seconds": self.chain.run_timeout.total_seconds(),
            "stacks": [
                {
                    "id": stack.id,
                    "wave": stack.wave,
                    "upstreams": list(stack.upstreams),
                    "retries": stack.policy.retries,
                    "retry_backoff_seconds": stack.policy.retry_backoff.total_seconds(),
                    "on_failure": str(stack.policy.on_failure),
                    "confirm": str(stack.policy.confirm),
                    "trigger": str(stack.policy.trigger),
                }
                for stack in self.stacks
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Plan":
        """Read back what :meth:`to_dict` wrote."""
        stacks = tuple(
            PlannedStack(
                id=item["id"],
                wave=item["wave"],
                upstreams=tuple(item["upstreams"]),
                policy=StackPolicy(
                    retries=item["retries"],
                    retry_backoff=timedelta(seconds=item["retry_backoff_seconds"]),
                    on_failure=OnFailure(item["on_failure"]),
                    confirm=Confirm(item["confirm"]),
                    trigger=Trigger(item["trigger"]),
                ),
            )
            for item in data["stacks"]
        )
        chain = ChainPolicy(data["max_parallel"], timedelta(seconds=data["run_timeout_seconds"]))
        return cls(data["root"], data["include_root"], chain, stacks)
