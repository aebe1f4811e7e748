"""The webhook's routing: every sample payload's answer, duplicates, and Temporal down (503)."""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.web.webhooks.events import Delivery
from app.web.webhooks.handler import parse_event
from tests.unit.app.web.webapp import SAMPLES, WebApp, sample, sign

URL = "/webhooks/spacelift"
ROOT_RUN = "01JD4Q8W5Z3K7M2N9P0R6S1T4V"

EXPECTED = {
    "internal-error": (200, "internal-error event"),
    "policy-internal-error": (200, "not a run event (internal_error)"),
    "policy-module-version": (200, "not a run event (module_version)"),
    "run-failed-tracked": (202, None),
    "run-finished-no-changes": (202, None),
    "run-finished-policy-shape": (202, None),
    "run-finished-proposed": (200, "proposed run"),
    "run-finished-tracked": (202, None),
    "run-unconfirmed-tracked": (202, None),
}


async def post(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(URL, content=body, headers=sign(body))


def test_every_sample_has_an_expected_answer() -> None:
    """The table below covers every sample body in the folder."""
    assert {path.stem for path in SAMPLES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_sample_payload_answers(web: WebApp, client: httpx.AsyncClient, name: str) -> None:
    """Each sample gets its documented answer; only accepted ones reach a lane."""
    status, reason = EXPECTED[name]
    answer = await post(client, sample(name))
    assert answer.status_code == status
    if status == 202:
        assert answer.json() == {"status": "accepted"}
        assert len(web.signaler.events) == 1
    else:
        assert answer.json()["status"] == "ignored"
        assert answer.json()["reason"].startswith(reason or "")
        assert web.signaler.events == []


async def test_default_shape_becomes_the_engine_event(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """The camelCase payload's fields land in RunEvent: ids, state, version, times, changes."""
    await post(client, sample("run-finished-tracked"))
    (event,) = web.signaler.events
    assert (event.stack_id, event.run_id, event.state) == ("network", ROOT_RUN, "FINISHED")
    assert (event.run_type, event.state_version, event.has_changes) == ("TRACKED", 6, True)
    assert event.timestamp == datetime.fromtimestamp(1795305600, UTC)
    assert event.created_at == datetime.fromtimestamp(1795305510, UTC)
    assert event.commit_sha == "3f1c9a27b8e44d0c91a6e5f2d7b0c8a9e1f2d3c4"


async def test_no_changes_is_carried(web: WebApp, client: httpx.AsyncClient) -> None:
    """A delta of zero added/changed/deleted is has_changes=False (for trigger: on_change)."""
    await post(client, sample("run-finished-no-changes"))
    assert web.signaler.events[0].has_changes is False


async def test_policy_shape_becomes_the_engine_event(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """The snake_case policy input: nanosecond times, no stateVersion, changes assumed."""
    await post(client, sample("run-finished-policy-shape"))
    (event,) = web.signaler.events
    assert (event.stack_id, event.run_id, event.state) == ("network", ROOT_RUN, "FINISHED")
    assert event.state_version is None
    assert event.timestamp == datetime.fromtimestamp(1795305600, UTC)
    assert event.created_at == datetime.fromtimestamp(1795305510, UTC)
    assert event.has_changes is True


@pytest.mark.parametrize("name", ["run-finished-tracked", "run-finished-policy-shape"])
async def test_who_triggered_the_run_reaches_the_lane(
    web: WebApp, client: httpx.AsyncClient, name: str
) -> None:
    """Either shape's ``triggeredBy`` is handed to the lane with the event."""
    await post(client, sample(name))
    (event,) = web.signaler.events
    assert event.triggered_by == "jane.doe@acme.example"


TRIGGERED_BY = {
    "run-finished-tracked": ("run", "triggeredBy"),
    "run-finished-policy-shape": ("run_updated", "run", "triggered_by"),
}


@pytest.mark.parametrize("name", sorted(TRIGGERED_BY))
def test_triggered_by_is_read_from_either_shape(name: str) -> None:
    """``run.triggeredBy`` (default) and ``run_updated.run.triggered_by`` (policy) become
    ``RunEvent.triggered_by``: an API key's identity as it is, and None when absent."""
    data = json.loads(sample(name))
    *where, key = TRIGGERED_BY[name]
    run = data
    for part in where:
        run = run[part]
    run[key] = "api::01JKEY"
    delivery = parse_event(json.dumps(data).encode())
    assert isinstance(delivery, Delivery)
    assert delivery.event.triggered_by == "api::01JKEY"
    del run[key]
    delivery = parse_event(json.dumps(data).encode())
    assert isinstance(delivery, Delivery)
    assert delivery.event.triggered_by is None


async def test_the_same_delivery_three_times_has_one_effect(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """Repeats of (run id, state, stateVersion) are answered 200 duplicate and signal nothing."""
    body = sample("run-finished-tracked")
    answers = [await post(client, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert answers[1].json() == {"status": "ignored", "reason": "duplicate"}
    assert len(web.signaler.events) == 1


async def test_a_reformatted_repeat_is_still_a_duplicate(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """Duplicates are by content, not bytes: the same event re-serialised is one effect."""
    body = sample("run-finished-policy-shape")
    again = json.dumps(json.loads(body)).encode()
    assert [(await post(client, b)).status_code for b in (body, again)] == [202, 200]
    assert len(web.signaler.events) == 1


async def test_states_of_one_run_are_not_duplicates(web: WebApp, client: httpx.AsyncClient) -> None:
    """UNCONFIRMED then FINISHED of one run are two events, both handed to the lane."""
    for name in ("run-unconfirmed-tracked", "run-finished-tracked"):
        assert (await post(client, sample(name))).status_code == 202
    assert [e.state for e in web.signaler.events] == ["UNCONFIRMED", "FINISHED"]


async def test_stack_not_in_the_file_is_ignored(web: WebApp, client: httpx.AsyncClient) -> None:
    """A tracked run of a stack the dependency file does not declare is 200 ignored."""
    data = json.loads(sample("run-finished-tracked"))
    data["stack"]["id"] = "somewhere-else"
    answer = await post(client, json.dumps(data).encode())
    assert answer.status_code == 200
    assert answer.json()["reason"] == "stack 'somewhere-else' is not in the dependency file"
    assert web.signaler.events == []


def _event(**fields: Any) -> bytes:
    base: dict[str, Any] = {
        "state": "FINISHED",
        "stateVersion": 1,
        "run": {"id": "r1", "type": "TRACKED"},
        "stack": {"id": "network"},
    }
    return json.dumps(base | fields).encode()


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("not json", b"{not json"),
        ("not utf-8", b"\xff\xfe{}"),
        ("a list", b"[1, 2]"),
        ("a string", b'"FINISHED"'),
        ("no run id", _event(run={"type": "TRACKED"})),
        ("bad run id", _event(run={"id": "../x", "type": "TRACKED"})),
        ("negative version", _event(stateVersion=-1)),
        ("huge timestamp", _event(timestamp=10**30)),
        ("infinite timestamp", _event().replace(b'"stateVersion": 1', b'"timestamp": 1e400')),
        ("state not a word", _event(state="finished; drop")),
        (
            "triggeredBy too long",
            _event(run={"id": "r1", "type": "TRACKED", "triggeredBy": "x" * 321}),
        ),
        ("policy without run", b'{"run_updated":{"state":"FINISHED","stack":{"id":"network"}}}'),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ],
)
async def test_bodies_not_objects_or_malformed_run_events_are_422(
    web: WebApp, client: httpx.AsyncClient, case: str, body: bytes
) -> None:
    """Signed bodies that are not a JSON object, or run events with malformed fields, are 422
    with a detail, and signal nothing."""
    answer = await post(client, body)
    assert answer.status_code == 422, case
    assert answer.json()["detail"]
    assert web.signaler.events == []


@pytest.mark.parametrize(
    ("case", "document", "reason"),
    [
        ("empty object", {}, "not a run event (unknown)"),
        (
            "a kind added later",
            {"account": {"name": "acme"}, "drift_detected": {}},
            "drift_detected",
        ),
        ("internal error, malformed", {"error": 5, "title": []}, "not a run event (unknown)"),
        ("two kinds", {"module_version": {}, "internal_error": {}}, "not a run event (unknown)"),
        ("a key that is not a name", {"Run Updated!": 1}, "not a run event (unknown)"),
        ("a key too long for a name", {"a" * 41: 1}, "not a run event (unknown)"),
    ],
)
async def test_signed_objects_that_are_not_run_events_are_ignored(
    web: WebApp, client: httpx.AsyncClient, case: str, document: dict[str, Any], reason: str
) -> None:
    """Spacelift's other notifications (and kinds it adds later) are 200 ignored, never 422:
    ten failed deliveries in a row disable the webhook. Only a short snake_case key is echoed."""
    answer = await post(client, json.dumps(document).encode())
    assert answer.status_code == 200, case
    assert answer.json()["status"] == "ignored"
    assert reason in answer.json()["reason"]
    assert web.signaler.events == []


async def test_not_a_run_event_is_counted_ignored(client: httpx.AsyncClient) -> None:
    """A policy-forwarded module_version counts as an "ignored" webhook, not an "invalid" one."""
    await post(client, sample("policy-module-version"))
    text = (await client.get("/metrics")).text
    assert 'stackchain_webhooks_total{outcome="ignored"} 1.0' in text
    assert 'stackchain_webhooks_total{outcome="invalid"}' not in text


async def test_an_unsigned_non_run_event_is_still_401(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """The signature is checked before the body is parsed, for every kind of body."""
    body = sample("policy-module-version")
    answer = await client.post(URL, content=body, headers=sign(body, secret="not-the-secret"))
    assert answer.status_code == 401
    assert web.signaler.events == []


async def test_temporal_down_is_503_and_the_retry_is_accepted(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """Temporal down is 503 and the delivery is not remembered: the retry is accepted later."""
    body = sample("run-finished-tracked")
    web.signaler.down = True
    down = await post(client, body)
    assert down.status_code == 503
    assert down.headers["Retry-After"]
    web.signaler.down = False
    assert (await post(client, body)).status_code == 202
    assert len(web.signaler.events) == 1


async def test_webhook_metrics_count_outcomes(client: httpx.AsyncClient) -> None:
    """/metrics shows webhooks by outcome, the latency histogram, and finished runs by state."""
    await post(client, sample("run-finished-tracked"))
    await post(client, sample("run-finished-tracked"))
    await post(client, sample("run-finished-proposed"))
    await client.post(URL, content=b"{}")
    text = (await client.get("/metrics")).text
    assert 'stackchain_webhooks_total{outcome="accepted"} 1.0' in text
    assert 'stackchain_webhooks_total{outcome="duplicate"} 1.0' in text
    assert 'stackchain_webhooks_total{outcome="ignored"} 1.0' in text
    assert 'stackchain_webhooks_total{outcome="unauthorized"} 1.0' in text
    assert "stackchain_webhook_handling_seconds_count 4.0" in text
    assert 'stackchain_stack_runs_total{stack="network",state="FINISHED"} 1.0' in text
    assert 'stackchain_run_duration_seconds_sum{state="FINISHED"} 90.0' in text


@pytest.mark.parametrize("version", [False, True, 6.0, "6", None])
async def test_numbers_must_be_integers(
    web: WebApp, client: httpx.AsyncClient, version: object
) -> None:
    """A stateVersion that is not a JSON integer is 422, never coerced (fuzz: false became 0)."""
    answer = await post(client, _event(stateVersion=version))
    assert answer.status_code == 422
    assert web.signaler.events == []
