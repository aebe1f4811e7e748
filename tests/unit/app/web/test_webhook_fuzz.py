"""Property tests of the webhook: no input makes it fail (5xx) or reach a lane unless valid."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.app.web.webapp import SAMPLES, WebApp, sign

URL = "/webhooks/spacelift"
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
samples = st.sampled_from(sorted(SAMPLES.glob("*.json"))).map(lambda p: json.loads(p.read_text()))


def _paths(data: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replace(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A sample body with one to three fields replaced by arbitrary JSON."""
    data = draw(samples)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        _replace(data, path, draw(json_values))
    return json.dumps(data).encode()


async def _post(web: WebApp, body: bytes, headers: dict[str, Any]) -> tuple[int, int]:
    before = len(web.signaler.events)
    async with web.client() as client:
        answer = await client.post(URL, content=body, headers=headers)
    return answer.status_code, len(web.signaler.events) - before


@FUZZ
@given(body=st.binary(max_size=2048), signature=st.binary(max_size=80))
async def test_unsigned_bytes_never_reach_a_lane(
    web: WebApp, body: bytes, signature: bytes
) -> None:
    """Arbitrary bytes with an arbitrary signature: 401, never a lane signal."""
    header = bytes(b for b in signature if b >= 0x20 and b != 0x7F).strip()
    status, signals = await _post(web, body, {"X-Signature-256": header})
    assert status == 401
    assert signals == 0


@FUZZ
@given(value=json_values)
async def test_signed_arbitrary_json_is_never_a_server_error(web: WebApp, value: Any) -> None:
    """Signed arbitrary JSON is 200 or 422, and is never handed to a lane as an event."""
    body = json.dumps(value).encode()
    status, signals = await _post(web, body, sign(body))
    assert status in {200, 422}
    assert signals == 0


@FUZZ
@given(body=mutated_samples())
async def test_signed_mutated_events_are_never_a_server_error(web: WebApp, body: bytes) -> None:
    """Signed samples with fields replaced: 200, 202 or 422; a 202 is exactly one lane signal."""
    status, signals = await _post(web, body, sign(body))
    assert status in {200, 202, 422}
    assert signals == (1 if status == 202 else 0)


RUN_KEYS = ("run_updated", "run", "stateVersion")


@FUZZ
@given(
    document=st.dictionaries(st.text(max_size=20), json_values, max_size=5).filter(
        lambda d: not any(key in d for key in RUN_KEYS)
    )
)
async def test_any_signed_object_that_is_not_a_run_event_is_200_ignored(
    web: WebApp, document: dict[str, Any]
) -> None:
    """Any signed JSON object without a run event's keys is 200 "ignored", never 422 (ten
    failed deliveries disable a Spacelift webhook), and never reaches a lane."""
    body = json.dumps(document).encode()
    async with web.client() as client:
        answer = await client.post(URL, content=body, headers=sign(body))
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored"
    assert web.signaler.events == []


@FUZZ
@given(value=json_values.filter(lambda value: not isinstance(value, dict)))
async def test_any_signed_json_that_is_not_an_object_is_422(web: WebApp, value: Any) -> None:
    """A signed body that is JSON but not an object stays 422."""
    body = json.dumps(value).encode()
    status, signals = await _post(web, body, sign(body))
    assert (status, signals) == (422, 0)
