"""Helpers that write dependency files for the tests."""

import textwrap
from dataclasses import dataclass, field

from app.stackfile import Problem, StackGraph, check_stack_file, parse_stack_graph


def yaml_of(deps: dict[str, list[str]]) -> str:
    """A minimal valid-format file where each stack depends on the listed ones."""
    lines = ["version: 1", "stacks:"]
    for stack, upstreams in deps.items():
        lines.append(f"  {stack}:")
        lines.append(f"    depends_on: [{', '.join(upstreams)}]")
    return "\n".join(lines) + "\n"


def graph_of(deps: dict[str, list[str]]) -> StackGraph:
    return parse_stack_graph(yaml_of(deps), file="t.yaml")


def problems_of(text: str) -> list[Problem]:
    return list(check_stack_file(textwrap.dedent(text), file="t.yaml").problems)


def only(text: str) -> Problem:
    """The one problem ``text`` has (fails when it has none or several)."""
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@dataclass
class FakeStack:
    """What app.stackfile reads of a spacelift.Stack."""

    id: str
    depends_on: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def label_dependencies(self) -> list[str]:
        return [
            label.removeprefix("depends-on:")
            for label in self.labels
            if label.startswith("depends-on:")
        ]
