"""What operators do to a chain: confirm, approve, cancel, and read its status."""

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError

from temporal.inputs import Confirm, StackPolicy
from temporal.workflows.chain import ApproveRequest, DependencyChainWorkflow
from tests.integration.conftest import Engine, eventually, graph_input, stack_state

GRAPH = {"database": ["network"], "app": ["database"]}


async def test_confirm_auto_confirms_unconfirmed_runs(engine: Engine) -> None:
    """confirm: auto sends runConfirm for a run that stops in UNCONFIRMED."""
    engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
    policies = {"database": StackPolicy(retries=0, confirm=Confirm.AUTO)}
    result = await engine.run(graph_input("network", GRAPH, policies=policies))

    assert result["status"] == "succeeded"
    (run,) = engine.spacelift.runs_of("database")
    assert engine.spacelift.confirms == [run.id]


async def test_confirm_wait_holds_until_an_operator_approves(engine: Engine) -> None:
    """confirm: wait leaves the run UNCONFIRMED until the approve update confirms it."""
    engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
    policies = {"database": StackPolicy(retries=0, confirm=Confirm.WAIT)}
    handle = await engine.start(graph_input("network", GRAPH, policies=policies))

    async def awaiting() -> bool:
        return await stack_state(handle, "database") == "awaiting_confirmation"

    await eventually(awaiting)
    assert engine.spacelift.confirms == []
    assert not engine.spacelift.runs_of("app")

    run_id = await handle.execute_update(
        DependencyChainWorkflow.approve, ApproveRequest(stack_id="database")
    )
    result = await handle.result()
    assert result["status"] == "succeeded"
    assert engine.spacelift.confirms == [run_id]


async def test_approve_is_refused_for_a_stack_not_awaiting_confirmation(engine: Engine) -> None:
    """Approving a stack that waits for nothing fails the update and changes nothing."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    handle = await engine.start(graph_input("network", GRAPH))

    async def running() -> bool:
        return await stack_state(handle, "database") == "running"

    await eventually(running)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(DependencyChainWorkflow.approve, ApproveRequest("database"))
    assert engine.spacelift.confirms == []
    await handle.signal(DependencyChainWorkflow.cancel)
    await handle.result()


async def test_cancel_mid_chain_stops_runs_and_starts_nothing(engine: Engine) -> None:
    """cancel: the run in flight is stopped, stacks not started are canceled, none triggered."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    handle = await engine.start(graph_input("network", GRAPH))
    run = await asyncio.wait_for(engine.spacelift.wait_for_run("database"), 15)
    await asyncio.wait_for(engine.spacelift.wait_for_state(run, "PLANNING"), 15)

    await handle.signal(DependencyChainWorkflow.cancel)
    result = await handle.result()

    assert result["status"] == "canceled"
    assert result["stacks"]["database"]["state"] == "canceled"
    assert result["stacks"]["app"]["state"] == "canceled"
    await asyncio.wait_for(run.done.wait(), 15)
    assert engine.spacelift.stops == [run.id]
    assert run.state == "STOPPED"
    assert not engine.spacelift.runs_of("app")


async def test_status_query_matches_the_contract_document(engine: Engine) -> None:
    """The status query names every stack with state, run id, run URL, attempts, depends_on."""
    chain = graph_input(
        "network", GRAPH, root_run_id="01ROOT", spacelift_url="https://acme.app.spacelift.io"
    )
    handle = await engine.start(chain)
    result = await handle.result()
    status = await handle.query("status")

    assert set(status) == {
        "chain_id", "root_stack", "root_run_id", "status", "started_at", "finished_at", "stacks"
    }  # fmt: skip
    assert status["chain_id"] == handle.id
    assert status["root_run_id"] == "01ROOT"
    network = status["stacks"]["network"]
    assert network["state"] == "succeeded"
    assert network["run_id"] == "01ROOT"
    database = status["stacks"]["database"]
    (run,) = engine.spacelift.runs_of("database")
    assert database["run_id"] == run.id
    assert database["run_url"] == f"https://acme.app.spacelift.io/stack/database/run/{run.id}"
    assert database["attempts"] == 1
    assert database["depends_on"] == ["network"]
    assert result["finished_at"] is not None


async def test_search_attributes_find_chains_by_stack_and_status(engine: Engine) -> None:
    """StackchainStacks / StackchainStatus list the chain in the Web UI's filters."""
    handle = await engine.start(graph_input("network", GRAPH))
    await handle.result()

    async def listed() -> bool:
        query = (
            f'WorkflowId = "{handle.id}" AND StackchainStacks = "database" '
            'AND StackchainStatus = "succeeded" AND StackchainRootStack = "network"'
        )
        found = [wf.id async for wf in engine.client.list_workflows(query)]
        return found == [handle.id]

    await eventually(listed)
    description = await handle.describe()
    summary = await description.static_summary()
    assert summary is not None
    assert summary.startswith("network")


async def test_current_details_name_the_stacks_waiting_on_a_person(engine: Engine) -> None:
    """The Web UI's current details say which stack awaits confirmation."""
    engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
    handle = await engine.start(graph_input("network", GRAPH))

    async def shown() -> bool:
        metadata = await handle.query("__temporal_workflow_metadata")
        return "awaiting confirmation: database" in metadata.current_details

    await eventually(shown)
    await handle.signal(DependencyChainWorkflow.cancel)
    await handle.result()
