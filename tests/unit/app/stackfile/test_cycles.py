"""Cycles: each is reported along depends_on, every one is real, and none is missed."""

import itertools
import re

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from app.stackfile import Level, Problem, check_stack_file
from app.stackfile.checks import MAX_CYCLES
from tests.unit.app.stackfile.stackfiles import problems_of, yaml_of

_CYCLE = re.compile(r"cycle in depends_on: (.*)$")


def cycles_in(problems: list[Problem]) -> list[list[str]]:
    """The paths of the reported cycles, as lists of stacks (first repeated at the end)."""
    return [
        match.group(1).split(" -> ")
        for problem in problems
        if (match := _CYCLE.search(problem.message))
    ]


def test_self_cycle() -> None:
    """A self-dependency is reported once, as a -> a."""
    problems = problems_of(yaml_of({"a": ["a"]}))
    assert [p.message for p in problems] == ["depends on itself: a -> a"]


def test_two_node_cycle() -> None:
    """Two stacks depending on each other: one cycle, starting at the first in the file."""
    problems = problems_of(yaml_of({"a": ["b"], "b": ["a"]}))
    assert [str(p) for p in problems] == ["t.yaml:4: stack 'a': cycle in depends_on: a -> b -> a"]
    assert problems[0].level is Level.CYCLE


def test_long_cycle() -> None:
    """A cycle through 50 stacks is reported as its whole path along depends_on."""
    names = [f"s{i:02d}" for i in range(50)]
    deps = {name: [names[(i + 1) % 50]] for i, name in enumerate(names)}
    [path] = cycles_in(problems_of(yaml_of(deps)))
    assert path == [*names, "s00"]


def test_several_cycles_at_once() -> None:
    """Separate cycles are all reported, each at the line of its first stack's dependency."""
    deps = {"a": ["b"], "b": ["a"], "ok": [], "c": ["d"], "d": ["e"], "e": ["c"], "f": ["a"]}
    problems = problems_of(yaml_of(deps))
    assert cycles_in(problems) == [["a", "b", "a"], ["c", "d", "e", "c"]]
    assert [p.line for p in problems] == [4, 10]


def test_stacks_depending_on_a_cycle_are_not_blamed() -> None:
    """A stack downstream of a cycle but not on it is not reported."""
    problems = problems_of(yaml_of({"a": ["b"], "b": ["a"], "c": ["a"]}))
    assert {p.stack for p in problems} == {"a"}


def test_tangle_is_capped_and_counted() -> None:
    """A complete graph has too many cycles to list: the first ones, then how many more."""
    names = [f"n{i}" for i in range(6)]
    deps = {name: [other for other in names if other != name] for name in names}
    problems = problems_of(yaml_of(deps))
    assert len(cycles_in(problems)) == MAX_CYCLES
    assert problems[-1].message.startswith("and ")
    assert "more cycles" in problems[-1].message


def test_each_tangle_appears_among_the_listed() -> None:
    """With a huge tangle first, a small separate cycle is still among the listed ones."""
    names = [f"n{i}" for i in range(6)]
    deps = {name: [other for other in names if other != name] for name in names}
    deps |= {"x": ["y"], "y": ["x"]}
    assert ["x", "y", "x"] in cycles_in(problems_of(yaml_of(deps)))


def test_deep_chain_does_not_recurse() -> None:
    """A 5,000-deep chain closed into a cycle is found without a RecursionError."""
    names = [f"s{i}" for i in range(5000)]
    deps = {name: [names[i - 1]] for i, name in enumerate(names)}
    [path] = cycles_in(problems_of(yaml_of(deps)))
    assert len(path) == 5001


graphs = st.integers(min_value=1, max_value=9).flatmap(
    lambda n: st.dictionaries(
        st.sampled_from([f"s{i}" for i in range(n)]),
        st.lists(st.sampled_from([f"s{i}" for i in range(n)]), unique=True, max_size=4),
        min_size=1,
    )
)


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_reported_cycles_are_real_and_none_missed(deps: dict[str, list[str]]) -> None:
    """Every reported cycle is a cycle of the graph; a graph reported acyclic has none."""
    deps = {stack: [up for up in ups if up in deps] for stack, ups in deps.items()}
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(deps)
    graph.add_edges_from((stack, up) for stack, ups in deps.items() for up in ups)
    result = check_stack_file(yaml_of(deps), file="t.yaml")
    for path in cycles_in(list(result.problems)):
        assert path[0] == path[-1]
        assert len(set(path[:-1])) == len(path) - 1  # a simple cycle
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(path))
    acyclic = nx.is_directed_acyclic_graph(graph)
    assert (result.graph is not None) == acyclic
    assert bool(result.problems) == (not acyclic)
