"""The reference and cycle levels, run on the parsed data even where the schema failed.

Working on the raw data rather than the validated model means one bad ``retries`` does not hide a
misspelt dependency elsewhere: every level reports what it can see.
"""

import itertools
from collections.abc import Iterator

import networkx as nx

from app.stackfile.loader import Document
from app.stackfile.order import topological_order
from app.stackfile.problems import Level, Problem, did_you_mean

MAX_CYCLES = 20
"""Cycles listed one by one; a tangle can hold exponentially many, so the rest are counted."""
MAX_COUNTED = 1000


def declared_dependencies(doc: Document) -> dict[str, list[str]]:
    """Each stack's ``depends_on`` entries that are text, in file order (no checks)."""
    data = doc.data
    stacks = data.get("stacks") if isinstance(data, dict) else None
    if not isinstance(stacks, dict):
        return {}
    declared: dict[str, list[str]] = {}
    for stack, entry in stacks.items():
        if not isinstance(stack, str):
            continue
        items = entry.get("depends_on") if isinstance(entry, dict) else None
        declared[stack] = (
            [item for item in items if isinstance(item, str)] if isinstance(items, list) else []
        )
    return declared


def check_references(doc: Document, declared: dict[str, list[str]]) -> dict[str, list[str]]:
    """Record unknown, self and repeated dependencies; return the usable ones per stack."""
    usable: dict[str, list[str]] = {}
    for stack in declared:
        seen: dict[str, int] = {}
        usable[stack] = []
        for index, upstream in enumerate(_raw_items(doc, stack)):
            if not isinstance(upstream, str):
                continue  # the schema level reports it
            path = ("stacks", stack, "depends_on", index)
            if upstream in seen:
                first = doc.lines.get(("stacks", stack, "depends_on", seen[upstream]))
                message = f"depends_on lists '{upstream}' twice (first at line {first})"
                doc.problem(path, message, Level.REFERENCE, stack)
            elif upstream == stack:
                message = f"depends on itself: {stack} -> {stack}"
                doc.problem(path, message, Level.REFERENCE, stack)
            elif upstream not in declared:
                hint = did_you_mean(upstream, declared)
                message = f"depends_on '{upstream}' is not a stack in this file{hint}"
                doc.problem(path, message, Level.REFERENCE, stack)
            else:
                usable[stack].append(upstream)
            seen.setdefault(upstream, index)
    return usable


def _raw_items(doc: Document, stack: str) -> list[object]:
    entry = doc.data["stacks"][stack]  # type: ignore[index]
    items = entry.get("depends_on") if isinstance(entry, dict) else None
    return items if isinstance(items, list) else []


def check_cycles(doc: Document, usable: dict[str, list[str]]) -> None:
    """Record every cycle along ``depends_on`` (up to :data:`MAX_CYCLES`, then a count)."""
    _, left = topological_order(usable)  # settles the acyclic case without networkx
    if not left:
        return
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_edges_from((stack, up) for stack in left for up in usable[stack] if up in left)
    order = {stack: position for position, stack in enumerate(usable)}
    tangles = [
        sorted(component, key=order.__getitem__)
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1
    ]
    tangles.sort(key=lambda component: order[component[0]])
    cycles = _cycles(graph, tangles)
    for cycle in itertools.islice(cycles, MAX_CYCLES):
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        path = cycle[start:] + cycle[:start]
        stack, upstream = path[0], path[1]
        index = _raw_items(doc, stack).index(upstream)
        message = "cycle in depends_on: " + " -> ".join([*path, stack])
        doc.problem(("stacks", stack, "depends_on", index), message, Level.CYCLE, stack)
    more = sum(1 for _ in itertools.islice(cycles, MAX_COUNTED))
    if more:
        count = f"{more}" if more < MAX_COUNTED else f"at least {MAX_COUNTED}"
        message = f"and {count} more cycles among the stacks above; break those first"
        doc.problems.append(Problem(doc.file, None, None, message, Level.CYCLE))


def _cycles(graph: "nx.DiGraph[str]", tangles: list[list[str]]) -> Iterator[list[str]]:
    """Cycles taking turns between the tangles, so each tangle shows up in the first few."""
    searches = [nx.simple_cycles(graph.subgraph(component)) for component in tangles]
    while searches:
        alive = []
        for search in searches:
            cycle = next(search, None)
            if cycle is not None:
                alive.append(search)
                yield cycle
        searches = alive
