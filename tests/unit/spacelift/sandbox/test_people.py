"""What people do in Spacelift, through the control surface: trigger a run, confirm, discard or
stop one; and runs that finished in the past, sent late or not at all."""

from collections.abc import AsyncIterator

import httpx
import pytest

from spacelift import RunState, SpaceliftClient
from spacelift.sandbox import Clock, Sandbox, create_app
from tests.unit.spacelift.sandbox.conftest import connect
from tests.unit.spacelift.sandbox.support import ENDPOINT, Receiver, hook, world

NOW = 1_800_000_000.0
HOUR = 3600


class FixedClock(Clock):
    """The sandbox's clock, standing still at ``NOW``: past times are exact."""

    def now(self) -> float:
        return NOW + self.offset


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the sandbox's ASGI app."""
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=ENDPOINT) as client:
        yield client


@pytest.fixture
async def still(receiver: Receiver) -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    """A sandbox whose clock stands still, its webhooks going to ``receiver``, and its HTTP."""
    transport = httpx.ASGITransport(app=receiver.app)
    async with Sandbox(world(), clock=FixedClock(), webhook_transport=transport) as sandbox:
        app = httpx.ASGITransport(app=create_app(sandbox))
        async with httpx.AsyncClient(transport=app, base_url=ENDPOINT) as http:
            yield sandbox, http


# --- a person's run and actions -----------------------------------------------------------------


async def test_a_person_triggers_a_tracked_run(
    sandbox: Sandbox, receiver: Receiver, client: SpaceliftClient, http: httpx.AsyncClient
) -> None:
    """POST runs makes a TRACKED run triggered by the login, which the API and webhooks show."""
    sandbox.set_webhook(hook())
    answer = await http.post("/sandbox/stacks/network/runs", json={"login": "jane.doe"})
    assert answer.status_code == 201
    made = answer.json()
    assert (made["type"], made["triggered_by"], made["source"]) == ("TRACKED", "jane.doe", "person")
    assert made["history"][0]["username"] == "jane.doe"
    await sandbox.wait_for_run_state("network", made["id"], RunState.FINISHED)
    run = await client.get_run("network", made["id"])
    assert (run.triggered_by, run.state) == ("jane.doe", RunState.FINISHED)
    await sandbox.wait_for_deliveries()
    assert {r.json["run"]["triggeredBy"] for r in receiver.received} == {"jane.doe"}


async def test_a_person_run_has_a_default_login_and_checks_its_body(
    http: httpx.AsyncClient,
) -> None:
    """Without a body the person is sandbox-user; a bad login is 422, an unknown stack 404."""
    bare = await http.post("/sandbox/stacks/network/runs")
    assert (bare.status_code, bare.json()["triggered_by"]) == (201, "sandbox-user")
    assert (await http.post("/sandbox/stacks/network/runs", json={"login": 7})).status_code == 422
    assert (await http.post("/sandbox/stacks/nope/runs")).status_code == 404


async def test_a_person_confirms_and_discards_unconfirmed_runs(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """confirm and discard as a person: the login is in the history; a second try is 409."""
    confirmed, discarded = sandbox.push("app"), sandbox.push("app")
    await sandbox.wait_for_run_state("app", confirmed.id, RunState.UNCONFIRMED)
    url = f"/sandbox/stacks/app/runs/{confirmed.id}"
    answer = await http.post(f"{url}/confirm", json={"login": "jane.doe", "note": "ship it"})
    last = answer.json()["history"][-1]
    assert (last["state"], last["username"], last["note"]) == ("APPLYING", "jane.doe", "ship it")
    assert (await http.post(f"{url}/discard")).status_code == 409
    await sandbox.wait_for_run_state("app", discarded.id, RunState.UNCONFIRMED)
    url = f"/sandbox/stacks/app/runs/{discarded.id}"
    assert (await http.post(f"{url}/stop")).status_code == 409  # UNCONFIRMED is discarded
    answer = await http.post(f"{url}/discard", json={"login": "john.roe"})
    assert (answer.json()["state"], answer.json()["history"][-1]["username"]) == (
        "DISCARDED",
        "john.roe",
    )
    assert (await http.post(f"{url}/confirm")).status_code == 409


async def test_a_person_stops_a_running_run_but_not_a_queued_one(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """stop as a person ends a started run STOPPED by them; a queued run is 409 (cancel it)."""
    running, queued = sandbox.push("slow"), sandbox.push("slow")
    await sandbox.wait_for_run_state("slow", running.id, RunState.PREPARING)
    refused = await http.post(f"/sandbox/stacks/slow/runs/{queued.id}/stop")
    assert (refused.status_code, "could not stop" in refused.json()["detail"]) == (409, True)
    stopped = await http.post(f"/sandbox/stacks/slow/runs/{running.id}/stop")
    assert stopped.json()["state"] == "STOPPED"
    assert stopped.json()["history"][-1]["username"] == "sandbox-user"
    canceled = await http.post(f"/sandbox/stacks/slow/runs/{queued.id}/cancel")
    assert canceled.json()["state"] == "CANCELED"


# --- runs that finished in the past -------------------------------------------------------------


async def test_a_finished_run_is_recorded_at_its_past_time(
    still: tuple[Sandbox, httpx.AsyncClient], receiver: Receiver
) -> None:
    """finished-runs writes a FINISHED tracked run that ended that long ago; nothing is sent."""
    sandbox, http = still
    sandbox.set_webhook(hook())
    body = {"finished_seconds_ago": 7 * HOUR, "took": 40, "login": "jane.doe"}
    answer = await http.post("/sandbox/stacks/network/finished-runs", json=body)
    assert answer.status_code == 201
    run = answer.json()
    assert (run["type"], run["state"], run["source"]) == ("TRACKED", "FINISHED", "history")
    times = [entry["timestamp"] for entry in run["history"]]
    assert times == [NOW - 7 * HOUR - 40 + 10 * step for step in range(5)]
    assert [entry["state"] for entry in run["history"]] == [
        "QUEUED", "PREPARING", "PLANNING", "APPLYING", "FINISHED"
    ]  # fmt: skip
    assert run["created_at"] == NOW - 7 * HOUR - 40
    assert sandbox.deliveries == []
    assert receiver.received == []


async def test_a_stack_without_autodeploy_was_confirmed_by_the_person(
    still: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """On a stack that waits for confirmation, the past run went through UNCONFIRMED too."""
    sandbox, http = still
    body = {"finished_seconds_ago": 60, "login": "jane.doe"}
    run = (await http.post("/sandbox/stacks/app/finished-runs", json=body)).json()
    history = [(entry["state"], entry["username"]) for entry in run["history"]]
    assert history == [
        ("QUEUED", "jane.doe"),
        ("PREPARING", None),
        ("PLANNING", None),
        ("UNCONFIRMED", None),
        ("APPLYING", "jane.doe"),
        ("FINISHED", None),
    ]
    assert sandbox.run("app", run["id"]).state_version == 6


async def test_the_past_run_takes_its_place_in_the_history(
    still: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """A run recorded an hour back sorts before a run made now: in listings and in run ids."""
    sandbox, http = still
    current = sandbox.push("slow")
    await sandbox.wait_for_run_state("slow", current.id, RunState.PREPARING)
    past = sandbox.record_finished_run("slow", finished_seconds_ago=HOUR)
    assert [run.id for run in sandbox.runs("slow")] == [past.id, current.id]
    assert past.id < current.id  # ULIDs sort by time, as Spacelift's do
    assert sandbox.world.entry("slow").state == "PREPARING"
    listed = (await http.get("/sandbox/runs", params={"stack": "slow"})).json()["runs"]
    assert [run["id"] for run in listed] == [past.id, current.id]
    async with connect(sandbox) as client:
        newest_first = await client.list_runs("slow")
        read = await client.get_run("slow", past.id)
    assert [run.id for run in newest_first] == [current.id, past.id]
    assert (read.state, read.finished, read.triggered_by) == (
        RunState.FINISHED,
        True,
        "sandbox-user",
    )
    assert read.history[-1].timestamp.timestamp() == NOW - HOUR


@pytest.mark.parametrize(("shape", "version"), [("default", 5), ("policy", None)])
async def test_its_finished_webhook_is_sent_late_with_its_old_time(
    still: tuple[Sandbox, httpx.AsyncClient], receiver: Receiver, shape: str, version: int | None
) -> None:
    """send_webhook: only the FINISHED event is sent, now, stamped with when the run ended."""
    sandbox, http = still
    sandbox.set_webhook(hook(shape))
    body = {"finished_seconds_ago": 7 * HOUR, "send_webhook": True}
    run = (await http.post("/sandbox/stacks/network/finished-runs", json=body)).json()
    deliveries = await sandbox.wait_for_deliveries()
    assert [(d.run_id, d.state, d.outcome) for d in deliveries] == [
        (run["id"], RunState.FINISHED, "delivered")
    ]
    (event,) = [received.json for received in receiver.received]
    if shape == "default":
        assert (event["state"], event["stateVersion"]) == ("FINISHED", version)
        assert event["timestamp"] == NOW - 7 * HOUR
    else:
        assert event["run_updated"]["state"] == "FINISHED"
        assert event["run_updated"]["run"]["updated_at"] == (NOW - 7 * HOUR) * 1_000_000_000


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"finished_seconds_ago": -1},
        {"finished_seconds_ago": "7h"},
        {"finished_seconds_ago": 60, "took": 0},
        {"finished_seconds_ago": 60, "send_webhook": "yes"},
        {"finished_seconds_ago": 60, "login": ""},
    ],
)
async def test_a_bad_finished_run_body_is_422(
    http: httpx.AsyncClient, body: dict[str, object]
) -> None:
    """The past time is required and not in the future; the run took some time; types hold."""
    answer = await http.post("/sandbox/stacks/network/finished-runs", json=body)
    assert answer.status_code == 422, answer.text


async def test_a_finished_run_on_an_unknown_stack_is_404(http: httpx.AsyncClient) -> None:
    """As every control route: an unknown stack is 404."""
    answer = await http.post("/sandbox/stacks/nope/finished-runs", json={"finished_seconds_ago": 1})
    assert answer.status_code == 404
