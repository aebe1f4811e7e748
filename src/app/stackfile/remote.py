"""The remote level: the file against the stacks Spacelift actually has.

A pure function over anything shaped like ``spacelift.Stack``, so it is tested without a client.
"""

from collections.abc import Iterable, Sequence
from typing import Protocol

from app.stackfile.graph import StackGraph
from app.stackfile.problems import Level, Problem, Severity, did_you_mean


class RemoteStack(Protocol):
    """What the comparison reads of a Spacelift stack."""

    @property
    def id(self) -> str:
        """The stack's id (slug)."""
        ...

    @property
    def depends_on(self) -> list[str]:
        """Ids of the stacks it depends on through Spacelift's native dependencies."""
        ...

    def label_dependencies(self) -> list[str]:
        """Ids named by its ``depends-on:<id>`` labels."""
        ...


def compare_with_spacelift(graph: StackGraph, remote: Iterable[RemoteStack]) -> list[Problem]:
    """Errors for stacks missing from Spacelift; warnings where Spacelift's dependencies differ.

    Native dependencies and ``depends-on:`` labels are compared only for stacks that have some:
    stackchain does not need them, but when they exist and disagree, someone will be surprised.
    """
    by_id = {stack.id: stack for stack in remote}
    problems: list[Problem] = []
    for stack in graph.stacks:
        line = graph.lines.get(stack)
        found = by_id.get(stack)
        if found is None:
            message = f"does not exist in Spacelift{did_you_mean(stack, by_id)}"
            problems.append(Problem(graph.file, line, stack, message, Level.REMOTE))
            continue
        declared = graph.upstreams[stack]
        for kind, theirs in (
            ("native dependencies", found.depends_on),
            ("depends-on labels", found.label_dependencies()),
        ):
            warning = _disagreement(kind, declared, theirs)
            if warning is not None:
                problems.append(
                    Problem(graph.file, line, stack, warning, Level.REMOTE, Severity.WARNING)
                )
    return problems


def _disagreement(kind: str, declared: Sequence[str], theirs: Sequence[str]) -> str | None:
    if not theirs:
        return None
    extra = sorted(set(theirs) - set(declared))
    missing = sorted(set(declared) - set(theirs))
    if not extra and not missing:
        return None
    parts = [f"only in Spacelift: {', '.join(extra)}"] if extra else []
    parts += [f"only in the file: {', '.join(missing)}"] if missing else []
    return f"Spacelift's {kind} disagree with depends_on ({'; '.join(parts)})"
