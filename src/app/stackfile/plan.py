"""A plan: the stacks a chain covers, their upstreams within it, their policies and waves.

Plain frozen data (ids, tuples, numbers and enums); :func:`app.core.chains.chain_input` turns a
plan into the frozen input of a ``DependencyChain`` workflow.
"""

from dataclasses import dataclass
from typing import Any

from app.stackfile.models import ChainPolicy, StackPolicy
from temporal.inputs import Trigger


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
