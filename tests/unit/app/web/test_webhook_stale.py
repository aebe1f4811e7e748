"""Stale run events: older than STACKCHAIN_EVENT_MAX_AGE by their own time, never signalled."""

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.web.metrics import Metrics
from app.web.server import create_app
from app.web.webhooks.handler import WebhookHandler
from spacelift import RunState
from spacelift.sandbox import Sandbox, SandboxConfig, SandboxStack, WebhookTarget
from tests.unit.app.web.webapp import (
    BASE_URL,
    SAMPLE_TIME,
    SECRET,
    RecordingSignaler,
    WebApp,
    build,
    no_temporal,
    sample,
    settings_for,
    sign,
)

URL = "/webhooks/spacelift"
MAX_AGE = 6 * 3600  # the default STACKCHAIN_EVENT_MAX_AGE, in seconds
STALE = {"status": "ignored", "reason": "stale event"}
NANOSECONDS = 1_000_000_000


def default_body(at: int | None, state: str = "FINISHED", version: int = 6) -> bytes:
    """The tracked sample, its event at unix second ``at`` (``None``: no timestamp at all)."""
    data = json.loads(sample("run-finished-tracked"))
    data |= {"state": state, "stateVersion": version}
    if at is None:
        del data["timestamp"]
    else:
        data["timestamp"] = at
    return json.dumps(data).encode()


def policy_body(updated_at_ns: int, state: str = "FINISHED") -> bytes:
    """The policy-shape sample, its run updated at ``updated_at_ns`` (unix nanoseconds)."""
    data = json.loads(sample("run-finished-policy-shape"))
    data["run_updated"]["state"] = state
    data["run_updated"]["run"]["updated_at"] = updated_at_ns
    return json.dumps(data).encode()


def web_at(tmp_path: Path, now: float, **overrides: Any) -> WebApp:
    """The app whose webhook handler thinks it is unix second ``now``."""
    return build(settings_for(tmp_path, **overrides), clock=lambda: now)


async def post(web: WebApp, body: bytes) -> httpx.Response:
    async with web.client() as client:
        return await client.post(URL, content=body, headers=sign(body))


async def test_a_fresh_event_is_accepted(tmp_path: Path) -> None:
    """An event a second old is handed to its lane (202)."""
    web = web_at(tmp_path, SAMPLE_TIME + 1)
    answer = await post(web, default_body(SAMPLE_TIME))
    assert (answer.status_code, answer.json()) == (202, {"status": "accepted"})
    assert len(web.signaler.events) == 1


async def test_a_stale_event_is_ignored_and_not_signalled(tmp_path: Path) -> None:
    """An event seven hours old (max 6h) is 200 "stale event" and reaches no lane."""
    web = web_at(tmp_path, SAMPLE_TIME + 7 * 3600)
    answer = await post(web, default_body(SAMPLE_TIME))
    assert (answer.status_code, answer.json()) == (200, STALE)
    assert web.signaler.events == []


@pytest.mark.parametrize(
    ("age", "status"),
    [(MAX_AGE - 1, 202), (MAX_AGE, 202), (MAX_AGE + 0.001, 200), (MAX_AGE + 1, 200)],
)
async def test_the_boundary_is_older_than_the_max_age(
    tmp_path: Path, age: float, status: int
) -> None:
    """Exactly STACKCHAIN_EVENT_MAX_AGE old is still fresh; a millisecond more is stale."""
    web = web_at(tmp_path, SAMPLE_TIME + age)
    answer = await post(web, default_body(SAMPLE_TIME))
    assert answer.status_code == status
    assert len(web.signaler.events) == (1 if status == 202 else 0)


@pytest.mark.parametrize(
    ("updated_at_ns", "status"),
    [
        (SAMPLE_TIME * NANOSECONDS, 202),  # exactly the max age before now
        (SAMPLE_TIME * NANOSECONDS - 1000, 200),  # a microsecond older
        ((SAMPLE_TIME + 3600) * NANOSECONDS, 202),
        ((SAMPLE_TIME - 86_400) * NANOSECONDS, 200),
    ],
)
async def test_the_policy_shape_is_judged_by_updated_at(
    tmp_path: Path, updated_at_ns: int, status: int
) -> None:
    """In the snake_case shape the run's updated_at (nanoseconds) is the event's time."""
    web = web_at(tmp_path, SAMPLE_TIME + MAX_AGE)
    answer = await post(web, policy_body(updated_at_ns))
    assert answer.status_code == status
    if status == 200:
        assert answer.json() == STALE
    assert len(web.signaler.events) == (1 if status == 202 else 0)


async def test_an_event_without_a_time_or_from_the_future_is_not_stale(tmp_path: Path) -> None:
    """No timestamp cannot be judged, and a clock ahead of ours is not old: both are accepted."""
    web = web_at(tmp_path, SAMPLE_TIME)
    assert (await post(web, default_body(None))).status_code == 202
    assert (await post(web, default_body(SAMPLE_TIME + 600, "APPLYING", 5))).status_code == 202
    assert len(web.signaler.events) == 2


async def test_the_max_age_comes_from_the_setting(tmp_path: Path) -> None:
    """STACKCHAIN_EVENT_MAX_AGE=10m makes an eleven-minute-old event stale."""
    web = web_at(tmp_path, SAMPLE_TIME + 11 * 60, event_max_age="10m")
    assert (await post(web, default_body(SAMPLE_TIME))).json() == STALE
    web = web_at(tmp_path, SAMPLE_TIME + 9 * 60, event_max_age="10m")
    assert (await post(web, default_body(SAMPLE_TIME))).status_code == 202


async def test_the_server_judges_by_the_wall_clock(tmp_path: Path) -> None:
    """create_app's own handler reads the real time: the sample, days old now, is stale."""
    app = create_app(settings_for(tmp_path), temporal=no_temporal, rpc_timeout=1.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        body = sample("run-finished-tracked")
        answer = await http.post(URL, content=body, headers=sign(body))
    assert (answer.status_code, answer.json()) == (200, STALE)


async def test_a_stale_repeat_of_an_accepted_event_is_stale(tmp_path: Path) -> None:
    """A delivery accepted while fresh and replayed after the max age is ignored as stale."""
    now = [SAMPLE_TIME + 60.0]
    web = build(settings_for(tmp_path), clock=lambda: now[0])
    body = default_body(SAMPLE_TIME)
    assert (await post(web, body)).status_code == 202
    now[0] += MAX_AGE
    assert (await post(web, body)).json() == STALE
    assert len(web.signaler.events) == 1


@pytest.mark.parametrize(
    ("ago", "status", "signals"), [(7 * 3600, 200, 0), (6 * 3600 - 60, 202, 1), (60, 202, 1)]
)
async def test_a_late_delivery_from_the_sandbox(
    tmp_path: Path, ago: int, status: int, signals: int
) -> None:
    """The sandbox sends the FINISHED event of a run that ended long ago: stale past 6h only."""
    web = build(settings_for(tmp_path), clock=time.time)
    target = WebhookTarget(f"{BASE_URL}/webhooks/spacelift", SECRET)
    config = SandboxConfig(stacks=(SandboxStack("network"),), webhook=target)
    transport = httpx.ASGITransport(app=web.app)
    async with Sandbox(config, webhook_transport=transport) as sandbox:
        run = sandbox.record_finished_run("network", finished_seconds_ago=ago, send_webhook=True)
        (delivery,) = await sandbox.wait_for_deliveries()
    assert (delivery.state, delivery.attempts) == (RunState.FINISHED, [status])
    assert [event.run_id for event in web.signaler.events] == [run.id] * signals


STATES = ["QUEUED", "PLANNING", "UNCONFIRMED", "APPLYING", "FINISHED", "FAILED", "STOPPED"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    max_age=st.integers(min_value=1, max_value=30 * 86_400),
    excess_ms=st.integers(min_value=1, max_value=10 * 365 * 86_400 * 1000),
    event_at=st.integers(min_value=0, max_value=2_000_000_000),
    state=st.sampled_from(STATES),
    shape=st.sampled_from(["default", "policy"]),
)
async def test_any_event_older_than_the_max_age_reaches_no_lane(
    web: WebApp,
    max_age: int,
    excess_ms: int,
    event_at: int,
    state: str,
    shape: str,
) -> None:
    """Whatever the max age, state and shape, an event older than the max is ignored as stale."""
    signaler = RecordingSignaler()
    handler = WebhookHandler(
        secret=SECRET.encode(),
        graphs=web.parts.graphs,
        signal=signaler,
        metrics=Metrics(),
        max_age=timedelta(seconds=max_age),
        clock=lambda: event_at + max_age + excess_ms / 1000,
    )
    body = (
        policy_body(event_at * NANOSECONDS, state)
        if shape == "policy"
        else default_body(event_at, state)
    )
    answer = await handler.handle(body, sign(body)["X-Signature-256"])
    assert (answer.status_code, answer.body) == (200, STALE)
    assert signaler.events == []
