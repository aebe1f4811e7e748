"""Plans: which stacks a chain covers, in which waves, under which policies."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.stackfile import (
    Confirm,
    OnFailure,
    StackGraph,
    Trigger,
    UnknownStackError,
    parse_stack_graph,
)
from tests.unit.app.stackfile.stackfiles import graph_of

DIAMOND = {
    "network": [],
    "database": ["network"],
    "cache": ["network"],
    "app": ["database", "cache"],
}


def test_diamond() -> None:
    """A diamond plans its two sides together and the join after both."""
    plan = graph_of(DIAMOND).plan("network")
    assert plan.waves == (("cache", "database"), ("app",))
    assert plan.stack_ids == ("cache", "database", "app")


def test_include_root_is_wave_zero_alone() -> None:
    """With include_root the root is wave 0, alone, and upstream of its direct dependents."""
    plan = graph_of(DIAMOND).plan("network", include_root=True)
    assert plan.waves == (("network",), ("cache", "database"), ("app",))
    assert plan.stack("database").upstreams == ("network",)
    assert plan.stack("network").upstreams == ()


def test_upstreams_outside_the_plan_are_dropped() -> None:
    """A stack's upstreams that the chain does not cover are not waited for."""
    plan = graph_of(DIAMOND).plan("database")
    assert plan.waves == (("app",),)
    assert plan.stack("app").upstreams == ()


def test_wave_is_the_longest_path() -> None:
    """A stack depending on the root and on a later stack starts after that later stack."""
    plan = graph_of({"r": [], "a": ["r"], "b": ["a"], "c": ["r", "b"]}).plan("r")
    assert plan.waves == (("a",), ("b",), ("c",))


def test_disjoint_branches() -> None:
    """A chain covers only its root's descendants, not an independent branch."""
    deps = {"net": [], "db": ["net"], "iam": [], "role": ["iam"], "app": ["db"]}
    graph = graph_of(deps)
    assert graph.plan("net").waves == (("db",), ("app",))
    assert graph.plan("iam").waves == (("role",),)
    assert graph.descendants("iam") == {"role"}


def test_leaf_plans_nothing() -> None:
    """A stack nothing depends on plans an empty chain."""
    plan = graph_of(DIAMOND).plan("app")
    assert (plan.waves, plan.stacks) == ((), ())


def test_unknown_stack() -> None:
    """Planning an undeclared stack raises UnknownStackError with a suggestion."""
    with pytest.raises(UnknownStackError, match=r"stack 'netwrk' is not in t.yaml \(did you mean"):
        graph_of(DIAMOND).plan("netwrk")


def test_deep_chain_plans_without_recursion() -> None:
    """A 5,000-deep chain validates and plans into 4,999 waves without a RecursionError."""
    names = [f"s{i}" for i in range(5000)]
    graph = graph_of({name: names[i - 1 : i] for i, name in enumerate(names)})
    plan = graph.plan("s0")
    assert len(plan.waves) == 4999
    assert plan.waves[-1] == ("s4999",)


def test_policies_merge_defaults() -> None:
    """Each stack's policy is the defaults with its own keys on top; the chain keeps its limits."""
    graph = parse_stack_graph(
        """\
version: 1
chain: {max_parallel: 2, run_timeout: 30m}
defaults: {retries: 3, retry_backoff: 10s, confirm: auto}
stacks:
  a:
  b: {depends_on: [a], retries: 0, trigger: on_change, on_failure: stop_chain}
"""
    )
    a, b = graph.policies["a"], graph.policies["b"]
    assert (a.retries, a.retry_backoff, a.confirm, a.trigger) == (
        3,
        timedelta(seconds=10),
        Confirm.AUTO,
        Trigger.ALWAYS,
    )
    assert (b.retries, b.retry_backoff, b.on_failure) == (
        0,
        timedelta(seconds=10),
        OnFailure.STOP_CHAIN,
    )
    assert (graph.chain.max_parallel, graph.chain.run_timeout) == (2, timedelta(minutes=30))


def test_contract_defaults() -> None:
    """Without defaults: 1 retry, 1m backoff, skip_dependents, wait, always (the contract's)."""
    policy = graph_of({"a": []}).policies["a"]
    assert (policy.retries, policy.retry_backoff) == (1, timedelta(minutes=1))
    assert (policy.on_failure, policy.confirm, policy.trigger) == (
        OnFailure.SKIP_DEPENDENTS,
        Confirm.WAIT,
        Trigger.ALWAYS,
    )


def test_on_change_stacks_may_be_skipped() -> None:
    """Stacks with trigger: on_change are listed as skippable, but never the root itself."""
    graph = parse_stack_graph(
        "version: 1\ndefaults: {trigger: on_change}\nstacks:\n  a: {}\n  b: {depends_on: [a]}\n"
    )
    assert graph.plan("a", include_root=True).may_skip == ("b",)


def test_api_shape() -> None:
    """to_api is GET /api/v1/plan's body."""
    assert graph_of(DIAMOND).plan("network").to_api() == {
        "root": "network",
        "waves": [["cache", "database"], ["app"]],
        "may_skip": [],
    }


def _dags() -> st.SearchStrategy[dict[str, list[str]]]:
    """Random DAGs: stack i may depend only on stacks before it."""

    def build(n: int) -> st.SearchStrategy[dict[str, list[str]]]:
        names = [f"s{i}" for i in range(n)]
        ups = [
            st.lists(st.sampled_from(names[:i]), unique=True, max_size=4) if i else st.just([])
            for i in range(n)
        ]
        return st.tuples(*ups).map(lambda lists: dict(zip(names, lists, strict=True)))

    return st.integers(min_value=1, max_value=25).flatmap(build)


def _reachable(graph: StackGraph, root: str) -> set[str]:
    found: set[str] = set()
    todo = [root]
    while todo:
        for down in graph.downstreams[todo.pop()]:
            if down not in found:
                found.add(down)
                todo.append(down)
    return found


@settings(max_examples=200, deadline=None)
@given(_dags(), st.data(), st.booleans())
def test_plan_is_a_topological_order_of_the_descendants(
    deps: dict[str, list[str]],
    data: st.DataObject,
    include_root: bool,  # noqa: FBT001
) -> None:
    """The waves hold exactly the descendants (and root on request), each after its upstreams."""
    graph = graph_of(deps)
    root = data.draw(st.sampled_from(sorted(deps)))
    plan = graph.plan(root, include_root=include_root)
    expected = _reachable(graph, root) | ({root} if include_root else set())
    placed = [stack for wave in plan.waves for stack in wave]
    assert sorted(placed) == sorted(expected)
    wave_of = {s.id: s.wave for s in plan.stacks}
    for stack in plan.stacks:
        assert set(stack.upstreams) == {up for up in deps[stack.id] if up in expected}
        assert all(wave_of[up] < stack.wave for up in stack.upstreams)
        # earliest: something in the previous wave (or the root) holds it back
        inside = [wave_of.get(up, 0) for up in deps[stack.id] if up in expected or up == root]
        assert stack.wave == (1 + max(inside) if inside else 0)
