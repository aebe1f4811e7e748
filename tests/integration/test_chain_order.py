"""Chains run stacks in dependency order, in parallel where the graph allows."""

from tests.integration.conftest import Engine, graph_input


async def test_diamond_child_waits_for_both_parents(engine: Engine) -> None:
    """In a diamond, the child's run is created only after both parents' runs finished."""
    chain = graph_input(
        "network", {"database": ["network"], "cache": ["network"], "app": ["database", "cache"]}
    )
    result = await engine.run(chain)

    assert result["status"] == "succeeded"
    assert {s: v["state"] for s, v in result["stacks"].items()} == {
        "network": "succeeded",
        "database": "succeeded",
        "cache": "succeeded",
        "app": "succeeded",
    }
    fake = engine.spacelift
    (app,) = fake.runs_of("app")
    parents = fake.runs_of("database") + fake.runs_of("cache")
    finished = [parent.finished_at for parent in parents]
    assert all(moment is not None and moment <= app.created_at for moment in finished)
    assert [stack for stack, _ in fake.triggers].count("app") == 1


async def test_independent_branches_run_in_parallel(engine: Engine) -> None:
    """Two branches that share no stack overlap in time instead of waiting for each other."""
    chain = graph_input(
        "root",
        {"left": ["root"], "left2": ["left"], "right": ["root"], "right2": ["right"]},
    )
    result = await engine.run(chain)

    assert result["status"] == "succeeded"
    fake = engine.spacelift
    (left,) = fake.runs_of("left")
    (right,) = fake.runs_of("right")
    assert left.finished_at is not None
    assert right.finished_at is not None
    assert right.created_at < left.finished_at
    assert left.created_at < right.finished_at
    assert fake.most_running >= 2


async def test_max_parallel_is_never_exceeded(engine: Engine) -> None:
    """Six ready stacks with max_parallel=2 never have more than two runs in flight."""
    graph = {f"s{i}": ["root"] for i in range(6)}
    result = await engine.run(graph_input("root", graph, max_parallel=2))

    assert result["status"] == "succeeded"
    assert engine.spacelift.most_running == 2
    assert len(engine.spacelift.triggers) == 6


async def test_include_root_runs_the_root_first(engine: Engine) -> None:
    """A manual chain that includes its root triggers the root before its dependents."""
    chain = graph_input("network", {"network": [], "database": ["network"]})
    result = await engine.run(chain)

    assert result["status"] == "succeeded"
    assert [stack for stack, _ in engine.spacelift.triggers] == ["network", "database"]
    assert result["stacks"]["network"]["attempts"] == 1
