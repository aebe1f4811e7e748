"""The REST control surface next to /graphql: push, runs, outcomes, actions, chaos, webhooks."""

from collections.abc import AsyncIterator

import httpx
import pytest

from spacelift import RunState, SpaceliftClient
from spacelift.sandbox import Sandbox, create_app
from tests.unit.spacelift.sandbox.support import ENDPOINT, HOOK_SECRET, HOOK_URL


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the sandbox's ASGI app."""
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=ENDPOINT) as client:
        yield client


async def test_push_starts_a_tracked_run_and_runs_tell_pushed_from_api(
    client: SpaceliftClient, http: httpx.AsyncClient
) -> None:
    """POST push makes a run as a commit would; GET runs tells it from one made by runTrigger."""
    commit = {"hash": "d" * 40, "message": "Add a subnet", "author_login": "jdoe"}
    pushed = await http.post("/sandbox/stacks/network/push", json={"commit": commit})
    assert pushed.status_code == 201
    assert (pushed.json()["source"], pushed.json()["commit"]) == ("push", "d" * 40)
    triggered = await client.trigger_run("network")
    runs = (await http.get("/sandbox/runs", params={"stack": "network"})).json()["runs"]
    assert [(run["id"], run["source"], run["triggered_by"]) for run in runs] == [
        (pushed.json()["id"], "push", "jdoe"),
        (triggered.id, "api", "api::sandbox"),
    ]
    one = await http.get(f"/sandbox/stacks/network/runs/{triggered.id}")
    assert one.json()["history"][0] == {
        "state": "QUEUED",
        "state_version": 1,
        "timestamp": one.json()["created_at"],
        "note": None,
        "username": "api::sandbox",
    }


async def test_push_without_a_body_and_unknown_stack(http: httpx.AsyncClient) -> None:
    """A bare push makes up a commit; an unknown stack is 404 with a detail."""
    assert (await http.post("/sandbox/stacks/network/push")).status_code == 201
    missing = await http.post("/sandbox/stacks/nope/push")
    assert (missing.status_code, missing.json()) == (404, {"detail": "stack 'nope' not found"})


async def test_outcomes_are_set_and_checked(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """POST outcomes queues how the next runs end; a bad outcome is 422."""
    answer = await http.post(
        "/sandbox/stacks/network/outcomes", json={"outcomes": ["FAILED:APPLYING"]}
    )
    assert answer.json()["next_outcomes"] == ["FAILED:APPLYING"]
    run = sandbox.push("network")
    await sandbox.wait_for_run_state("network", run.id, RunState.FAILED)
    bad = await http.post("/sandbox/stacks/network/outcomes", json={"outcomes": ["MAYBE"]})
    assert bad.status_code == 422


async def test_run_actions_as_a_person_would(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """POST .../confirm confirms an UNCONFIRMED run; a second confirm is 409; bad verbs 404."""
    run = sandbox.push("app")
    await sandbox.wait_for_run_state("app", run.id, RunState.UNCONFIRMED)
    confirmed = await http.post(f"/sandbox/stacks/app/runs/{run.id}/confirm", json={"note": "ok"})
    assert confirmed.json()["state"] == "APPLYING"
    again = await http.post(f"/sandbox/stacks/app/runs/{run.id}/confirm")
    assert again.status_code == 409
    assert (await http.post(f"/sandbox/stacks/app/runs/{run.id}/explode")).status_code == 404


async def test_chaos_knobs_read_patch_reset(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """GET shows the knobs, PATCH changes some, PUT resets the rest, unknown knobs are 422."""
    patched = await http.patch("/sandbox/chaos", json={"webhook_drop_rate": 0.2, "seed": 9})
    assert (patched.json()["webhook_drop_rate"], patched.json()["seed"]) == (0.2, 9)
    fault = {"kind": "error", "operation": "RunTrigger", "count": 2}
    added = await http.post("/sandbox/chaos/faults", json=fault)
    assert added.json()["faults"] == [{**fault, "status": 503, "lose_with": "status"}]
    reset = await http.put("/sandbox/chaos", json={"error_rate": 0.1})
    assert (reset.json()["webhook_drop_rate"], reset.json()["error_rate"]) == (0.0, 0.1)
    assert reset.json()["faults"] == []
    assert (await http.patch("/sandbox/chaos", json={"nope": 1})).status_code == 422
    assert sandbox.chaos.knobs.error_rate == 0.1


async def test_chaos_drops_and_delays_webhooks_by_state(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """PATCH takes webhook_drop_states and webhook_delay_states; a state that is none is 422."""
    knobs = {"webhook_drop_states": ["FINISHED"], "webhook_delay_states": {"UNCONFIRMED": 1.5}}
    patched = await http.patch("/sandbox/chaos", json=knobs)
    assert {key: patched.json()[key] for key in knobs} == knobs
    assert sandbox.chaos.knobs.webhook_drop_states == ["FINISHED"]
    for bad in (
        {"webhook_drop_states": ["FINSHED"]},
        {"webhook_drop_states": "FINISHED"},
        {"webhook_delay_states": {"UNCONFIRMED": -1}},
        {"webhook_delay_states": {"UNCONFIRMED": "soon"}},
        {"webhook_delay_states": {"later": 1}},
    ):
        refused = await http.patch("/sandbox/chaos", json=bad)
        assert refused.status_code == 422, bad
    assert sandbox.chaos.knobs.webhook_delay_states == {"UNCONFIRMED": 1.5}
    reset = await http.put("/sandbox/chaos", json={})
    assert (reset.json()["webhook_drop_states"], reset.json()["webhook_delay_states"]) == ([], {})


async def test_webhook_target_and_deliveries(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """PUT webhook sets the target (the secret is never shown); GET webhooks lists deliveries."""
    target = {"url": HOOK_URL, "secret": HOOK_SECRET, "shape": "policy"}
    shown = await http.put("/sandbox/webhook", json=target)
    assert shown.json() == {"target": {"url": HOOK_URL, "shape": "policy", "retries": 3}}
    run = sandbox.push("network")
    await sandbox.wait_for_run_state("network", run.id, RunState.FINISHED)
    await sandbox.wait_for_deliveries()
    deliveries = (await http.get("/sandbox/webhooks")).json()["deliveries"]
    assert [d["state_version"] for d in deliveries] == [1, 2, 3, 4, 5]
    assert deliveries[-1]["body"]["run_updated"]["run"]["id"] == run.id
    assert (await http.put("/sandbox/webhook", json={})).json() == {"target": None}


async def test_expiring_tokens_forces_a_new_login(
    sandbox: Sandbox, client: SpaceliftClient, http: httpx.AsyncClient
) -> None:
    """POST tokens/expire invalidates every issued token; the client gets 401 and logs in again."""
    await client.list_spaces()
    assert (await http.post("/sandbox/tokens/expire")).status_code == 204
    await client.list_spaces()
    assert sandbox.tokens.logins == 2


async def test_stacks_listing(http: httpx.AsyncClient) -> None:
    """GET stacks lists every stack with its settings and state."""
    stacks = (await http.get("/sandbox/stacks")).json()["stacks"]
    assert [stack["id"] for stack in stacks] == ["network", "database", "app", "slow"]
    assert stacks[2]["autodeploy"] is False


async def test_a_runs_web_url_shows_the_run(
    client: SpaceliftClient, http: httpx.AsyncClient
) -> None:
    """The run URL the client builds (as Spacelift's UI has it) answers with the run."""
    run = await client.trigger_run("network")
    url = client.run_url("network", run.id)
    assert url == f"{ENDPOINT}/stack/network/run/{run.id}"
    shown = await http.get(url)
    assert shown.status_code == 200
    assert shown.json()["id"] == run.id
    assert (await http.get(f"{ENDPOINT}/stack/network/run/nope")).status_code == 404
