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
