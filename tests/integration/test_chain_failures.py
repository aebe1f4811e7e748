"""Retries, and what a final failure does to the rest of the chain."""

import asyncio

from temporal.inputs import OnFailure, StackPolicy, Trigger
from tests.integration.conftest import FAST, Engine, graph_input

GRAPH = {
    "database": ["network"],
    "app": ["database"],
    "cache": ["network"],
    "worker": ["cache"],
}


def _states(result: dict[str, object]) -> dict[str, str]:
    stacks = result["stacks"]
    assert isinstance(stacks, dict)
    return {stack: info["state"] for stack, info in stacks.items()}


async def test_skip_dependents_lets_the_independent_branch_finish(engine: Engine) -> None:
    """skip_dependents: the failed stack's descendants are skipped, the other branch finishes."""
    engine.spacelift.outcomes["database"] = ["FAILED"]
    result = await engine.run(graph_input("network", GRAPH))

    assert result["status"] == "failed"
    assert _states(result) == {
        "network": "succeeded",
        "database": "failed",
        "app": "skipped",
        "cache": "succeeded",
        "worker": "succeeded",
    }
    assert not engine.spacelift.runs_of("app")


async def test_continue_treats_the_failure_as_done(engine: Engine) -> None:
    """continue: dependents of the failed stack still run."""
    engine.spacelift.outcomes["database"] = ["FAILED"]
    policies = {"database": StackPolicy(retries=0, on_failure=OnFailure.CONTINUE)}
    result = await engine.run(graph_input("network", GRAPH, policies=policies))

    assert result["status"] == "failed"
    assert _states(result)["database"] == "failed"
    assert _states(result)["app"] == "succeeded"


async def test_stop_chain_cancels_what_has_not_started(engine: Engine) -> None:
    """stop_chain: nothing starts after the failure; stacks not yet started are canceled."""
    engine.spacelift.outcomes["database"] = ["FAILED"]
    graph = {"database": ["network"], "app": ["database"], "later": ["app"]}
    policies = {"database": StackPolicy(retries=0, on_failure=OnFailure.STOP_CHAIN)}
    result = await engine.run(graph_input("network", graph, policies=policies))

    assert result["status"] == "failed"
    assert _states(result) == {
        "network": "succeeded",
        "database": "failed",
        "app": "canceled",
        "later": "canceled",
    }


async def test_a_retry_that_succeeds_carries_on_into_dependents(engine: Engine) -> None:
    """A failed run is re-run after backoff; its success triggers the dependents."""
    engine.spacelift.outcomes["database"] = ["FAILED", "FINISHED"]
    policies = {"database": StackPolicy(retries=2, retry_backoff_seconds=0.05)}
    result = await engine.run(graph_input("network", GRAPH, policies=policies))

    assert result["status"] == "succeeded"
    database = result["stacks"]["database"]
    assert database["attempts"] == 2
    second = engine.spacelift.runs_of("database")[1]
    assert database["run_id"] == second.id
    (app,) = engine.spacelift.runs_of("app")
    assert second.finished_at is not None
    assert app.created_at >= second.finished_at


async def test_retries_run_out_then_on_failure_applies(engine: Engine) -> None:
    """With retries=1 a stack is run twice at most; after that its dependents are skipped."""
    engine.spacelift.outcomes["database"] = ["FAILED", "FAILED", "FINISHED"]
    policies = {"database": StackPolicy(retries=1, retry_backoff_seconds=0.05)}
    result = await engine.run(graph_input("network", GRAPH, policies=policies))

    assert result["stacks"]["database"]["attempts"] == 2
    assert len(engine.spacelift.runs_of("database")) == 2
    assert _states(result)["app"] == "skipped"


async def test_a_person_stopping_a_run_is_not_retried(engine: Engine) -> None:
    """A run that ends DISCARDED (a person's choice) fails the stack without a retry."""
    engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
    policies = {"database": StackPolicy(retries=3, retry_backoff_seconds=0.05)}
    handle = await engine.start(graph_input("network", GRAPH, policies=policies))
    run = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
    await asyncio.wait_for(engine.spacelift.wait_for_state(run, "UNCONFIRMED"), 15)
    await engine.spacelift.discard_run("database", run.id)

    result = await handle.result()
    assert result["stacks"]["database"]["attempts"] == 1
    assert result["stacks"]["database"]["state"] == "failed"


async def test_on_change_skips_stacks_whose_upstreams_changed_nothing(engine: Engine) -> None:
    """trigger: on_change skips a stack when the root changed no resources; its dependents too."""
    on_change = StackPolicy(retries=0, trigger=Trigger.ON_CHANGE)
    chain = graph_input(
        "network",
        {"database": ["network"], "app": ["database"], "always": ["network"]},
        policies={"database": on_change, "app": on_change, "always": FAST},
        root_has_changes=False,
    )
    result = await engine.run(chain)

    assert result["status"] == "succeeded"
    assert _states(result) == {
        "network": "succeeded",
        "database": "skipped",
        "app": "skipped",
        "always": "succeeded",
    }
    assert [stack for stack, _ in engine.spacelift.triggers] == ["always"]


async def test_a_run_past_run_timeout_is_stopped_and_fails(engine: Engine) -> None:
    """run_timeout: a run that never ends is stopped in Spacelift and its stack fails."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    result = await engine.run(graph_input("network", GRAPH, run_timeout_seconds=1.0))

    assert result["stacks"]["database"]["state"] == "failed"
    assert result["stacks"]["database"]["reason"] == "run timed out"
    assert result["stacks"]["app"]["state"] == "skipped"
    (run,) = engine.spacelift.runs_of("database")
    await asyncio.wait_for(run.done.wait(), 15)  # the lane stops it after the chain let go
    assert engine.spacelift.stops == [run.id]
