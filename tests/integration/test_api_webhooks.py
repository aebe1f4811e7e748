"""Signed webhooks over HTTP drive real chains: roots start them, duplicates collapse."""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from temporal.client import root_chain_id
from temporal.inputs import lane_id
from tests.integration.api_support import SPACELIFT_URL, api_for, chain_ended, payload, root_event
from tests.integration.conftest import Engine, eventually

SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
SAMPLES = Path(__file__).parents[1] / "unit" / "app" / "web" / "webhook_samples"


async def lane_settled(lane: WorkflowHandle[Any, Any], *, signals: int) -> bool:
    """The lane has received ``signals`` signals and finished handling all of them."""
    events = (await lane.fetch_history()).events
    signaled = [i for i, e in enumerate(events) if e.event_type == SIGNALED]
    completed = [i for i, e in enumerate(events) if e.event_type == TASK_COMPLETED]
    if len(signaled) != signals or not completed or completed[-1] < signaled[-1]:
        return False
    return not (await lane.describe()).raw_description.pending_activities


async def test_a_signed_root_webhook_starts_the_chain_and_it_completes(
    engine: Engine, tmp_path: Path
) -> None:
    """A signed root webhook starts chain-<stack>-<run>, which webhooks drive to success."""
    async with api_for(engine, tmp_path) as api:
        run_id = engine.spacelift.person_run("network").id
        answer = await api.webhook(payload(root_event(run_id)))
        assert answer.status_code == 202
        assert answer.json() == {"status": "accepted"}

        chain = await chain_ended(api.http, root_chain_id("network", run_id))
        assert chain["status"] == "succeeded"
        assert chain["root_run_id"] == run_id
        for stack in ("database", "app"):
            assert chain["stacks"][stack]["state"] == "succeeded"
            assert chain["stacks"][stack]["run_url"].startswith(f"{SPACELIFT_URL}/stack/{stack}/")
        assert [req.run_id for req in engine.planned] == [run_id]
        assert engine.spacelift.lost_events == 0
        metrics = (await api.http.get("/metrics")).text
        assert 'stackchain_stack_runs_total{stack="app",state="FINISHED"} 1.0' in metrics


async def test_repeated_deliveries_start_one_chain(engine: Engine, tmp_path: Path) -> None:
    """Repeats (also in policy shape, also to a restarted server) make one chain, one run each."""
    run_id = engine.spacelift.person_run("network").id
    body = json.dumps(payload(root_event(run_id))).encode()
    policy = json.loads((SAMPLES / "run-finished-policy-shape.json").read_text())
    policy["run_updated"]["run"]["id"] = run_id
    policy["run_updated"]["run"]["updated_at"] = time.time_ns()  # the sample's own time is stale
    async with api_for(engine, tmp_path) as api:
        codes = [(await api.webhook(body)).status_code for _ in range(3)]
        assert codes == [202, 200, 200]
        assert (await api.webhook(policy)).status_code == 202
        chain = await chain_ended(api.http, root_chain_id("network", run_id))
    async with api_for(engine, tmp_path) as restarted:
        assert (await restarted.webhook(body)).status_code == 202

        lane = engine.client.get_workflow_handle(lane_id(engine.task_queue, "network"))
        await eventually(lambda: lane_settled(lane, signals=3))
    assert chain["status"] == "succeeded"
    assert [req.run_id for req in engine.planned] == [run_id]
    assert len(engine.spacelift.runs_of("database")) == 1
    assert len(engine.spacelift.runs_of("app")) == 1


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("proposed", {"run": {"type": "PROPOSED"}}),
        ("not in the file", {"stack": {"id": "elsewhere"}}),
    ],
)
async def test_ignored_events_start_no_lane(
    engine: Engine, tmp_path: Path, case: str, change: dict[str, Any]
) -> None:
    """A proposed run or a stack not in the file is 200 ignored and touches no workflow."""
    event = payload(root_event(f"r{uuid.uuid4().hex[:8]}"))
    for key, value in change.items():
        event[key] |= value
    async with api_for(engine, tmp_path) as api:
        answer = await api.webhook(event)
    assert answer.status_code == 200, case
    assert answer.json()["status"] == "ignored"
    stack = event["stack"]["id"]
    handle: WorkflowHandle[Any, Any] = engine.client.get_workflow_handle(
        lane_id(engine.task_queue, stack)
    )
    with pytest.raises(RPCError) as raised:
        await handle.describe()
    assert raised.value.status == RPCStatusCode.NOT_FOUND
