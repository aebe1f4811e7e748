"""Drawings of the graph: JSON (the API's shape), Mermaid (GitHub renders it) and DOT."""

import re
from typing import Any

from app.stackfile.graph import StackGraph
from temporal.inputs import Trigger

_MERMAID_RESERVED = frozenset(
    {"end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click", "linkstyle"}
)


def to_json(graph: StackGraph) -> dict[str, Any]:
    """``{"stacks": [...], "edges": [[upstream, downstream], ...]}``, as GET /api/v1/graph."""
    return {"stacks": list(graph.stacks), "edges": [list(edge) for edge in graph.edges]}


def _mermaid_ids(stacks: tuple[str, ...]) -> dict[str, str]:
    """Node ids Mermaid accepts (letters, digits, ``_``); the stack id is shown as the label."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for stack in stacks:
        base = re.sub(r"\W", "_", stack)
        if base.lower() in _MERMAID_RESERVED or base[0].isdigit():
            base = f"s_{base}"
        node, number = base, 2
        while node in taken:
            node, number = f"{base}_{number}", number + 1
        taken.add(node)
        ids[stack] = node
    return ids


def to_mermaid(graph: StackGraph) -> str:
    """A ``flowchart TD`` from upstream to downstream; ``on_change`` stacks drawn dashed."""
    ids = _mermaid_ids(graph.stacks)
    lines = ["flowchart TD"]
    lines += [f'    {ids[stack]}["{stack}"]' for stack in graph.stacks]
    lines += [f"    {ids[up]} --> {ids[down]}" for up, down in graph.edges]
    on_change = [ids[s] for s in graph.stacks if graph.policies[s].trigger is Trigger.ON_CHANGE]
    if on_change:
        lines.append("    classDef onChange stroke-dasharray: 5 5")
        lines.append(f"    class {','.join(on_change)} onChange")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: StackGraph) -> str:
    """A Graphviz ``digraph`` from upstream to downstream; ``on_change`` stacks drawn dashed."""
    lines = ["digraph stacks {", "    rankdir=TB;", "    node [shape=box];"]
    for stack in graph.stacks:
        dashed = graph.policies[stack].trigger is Trigger.ON_CHANGE
        lines.append(f"    {_dot_quote(stack)}{' [style=dashed]' if dashed else ''};")
    lines += [f"    {_dot_quote(up)} -> {_dot_quote(down)};" for up, down in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
