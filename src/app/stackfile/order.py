"""Kahn's algorithm, once: a topological order of the stacks, and what it cannot place."""

from collections import deque
from collections.abc import Mapping, Sequence


def topological_order(upstreams: Mapping[str, Sequence[str]]) -> tuple[list[str], set[str]]:
    """Stacks with every upstream before them, and the ones left over (on or below a cycle).

    Iterative and linear in stacks plus edges, so a 5,000-deep chain is no problem.
    """
    waiting = {stack: len(ups) for stack, ups in upstreams.items()}
    downstreams: dict[str, list[str]] = {stack: [] for stack in upstreams}
    for stack, ups in upstreams.items():
        for up in ups:
            downstreams[up].append(stack)
    ready = deque(stack for stack, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for downstream in downstreams[current]:
            waiting[downstream] -= 1
            if waiting[downstream] == 0:
                ready.append(downstream)
    return order, {stack for stack, count in waiting.items() if count}
