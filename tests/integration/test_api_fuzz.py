"""Fuzzing the webhook and the API on a real Temporal: no 5xx but the documented 503, and no
chain (nor lane) from an invalid event. A valid root at the end proves the check could fail."""

import asyncio
import json
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from temporal.client import root_chain_id
from tests.integration.api_support import AUTH, Api, api_for, chain_ended, payload, root_event, sign
from tests.integration.conftest import Engine, eventually

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SERVER_ERRORS_ALLOWED = {503}
CONFIGURED = {"network", "database", "app", "lonely"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
REQUIRED = (("state",), ("stateVersion",), ("run", "id"), ("run", "type"), ("stack", "id"))


@st.composite
def invalid_events(draw: st.DrawFn) -> bytes:
    """A root FINISHED event with a required field removed or of the wrong kind."""
    event = payload(root_event(f"fuzz{draw(st.integers(0, 10**6))}"))
    path = draw(st.sampled_from(REQUIRED))
    holder = event
    for step in path[:-1]:
        holder = holder[step]
    wrong: st.SearchStrategy[Any] = (
        st.none() | st.booleans() | st.lists(st.integers(), max_size=2) | st.just({})
    )
    if path[-1] in {"state", "id", "type"}:
        wrong |= st.text(max_size=8).filter(lambda s: not s.isalnum() or not s.isascii())
    if draw(st.booleans()):
        del holder[path[-1]]
    else:
        holder[path[-1]] = draw(wrong)
    return json.dumps(event).encode()


def no_server_error(status: int) -> bool:
    return status < 500 or status in SERVER_ERRORS_ALLOWED


async def test_fuzzed_webhooks_and_api_start_nothing(engine: Engine, tmp_path: Path) -> None:
    """Fuzzed webhooks and API calls get no 5xx and start nothing; a valid root then does."""
    LOOP[:] = [asyncio.get_running_loop()]
    async with api_for(engine, tmp_path) as api:
        await fuzz_webhooks(api)
        await fuzz_api(api)
        assert await workflows_on(engine) == []
        assert len(EXAMPLES) == 4
        assert min(EXAMPLES.values()) >= 30, EXAMPLES  # the fuzz did run

        run_id = engine.spacelift.person_run("network").id
        assert (await api.webhook(payload(root_event(run_id)))).status_code == 202
        chain = await chain_ended(api.http, root_chain_id("network", run_id))
        assert chain["status"] == "succeeded"

        async def only_the_control() -> bool:
            chains = [w for w in await workflows_on(engine) if w.startswith("chain-")]
            return chains == [root_chain_id("network", run_id)]

        await eventually(only_the_control)
    assert [req.run_id for req in engine.planned] == [run_id]


async def workflows_on(engine: Engine) -> list[str]:
    query = f'TaskQueue = "{engine.task_queue}"'
    return [w.id async for w in engine.client.list_workflows(query)]


def on_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run one example on the test's loop (where the app and client live) from Hypothesis'."""
    EXAMPLES[getattr(coroutine, "__name__", "?")] += 1
    asyncio.run_coroutine_threadsafe(coroutine, LOOP[0]).result(timeout=60)


EXAMPLES: Counter[str] = Counter()


LOOP: list[asyncio.AbstractEventLoop] = []


async def fuzz_webhooks(api: Api) -> None:
    async def post_invalid(body: bytes, *, signed: bool) -> None:
        headers = sign(body) if signed else sign(body, "wrong-secret")
        answer = await api.http.post("/webhooks/spacelift", content=body, headers=headers)
        assert answer.status_code == (422 if signed else 401), answer.text

    async def post_json(value: Any) -> None:
        body = json.dumps(value).encode()
        answer = await api.http.post("/webhooks/spacelift", content=body, headers=sign(body))
        assert answer.status_code in {200, 422}

    async def post_forged(signature: bytes) -> None:
        raw = json.dumps(payload(root_event("forged"))).encode()
        forged = {"X-Signature-256": "sha256=" + signature.hex()[:64].ljust(64, "0")}
        answer = await api.http.post("/webhooks/spacelift", content=raw, headers=forged)
        assert answer.status_code == 401

    @FUZZ
    @given(body=invalid_events(), signed=st.booleans())
    def invalid_event(body: bytes, signed: bool) -> None:  # noqa: FBT001 - drawn
        on_loop(post_invalid(body, signed=signed))

    @FUZZ
    @given(value=json_values)
    def arbitrary_json(value: Any) -> None:
        on_loop(post_json(value))

    @FUZZ
    @given(signature=st.binary(max_size=40))
    def forged_signature(signature: bytes) -> None:
        on_loop(post_forged(signature))

    for run in (invalid_event, arbitrary_json, forged_signature):
        await asyncio.to_thread(run)


chain_ids = st.from_regex(r"chain-[A-Za-z0-9_.@-]{1,30}", fullmatch=True) | st.text(max_size=30)
stacks = st.text(max_size=30).filter(lambda s: s not in CONFIGURED)


async def fuzz_api(api: Api) -> None:
    async def calls(chain: str, stack: str, status: str, body: Any) -> None:
        c, s = quote(chain, safe=""), quote(stack, safe="")
        requests = [
            ("GET", f"/api/v1/chains/{c}", None, None),
            ("POST", f"/api/v1/chains/{c}/cancel", None, None),
            ("POST", f"/api/v1/chains/{c}/stacks/{s}/approve", None, None),
            ("GET", "/api/v1/chains", {"status": status}, None),
            ("GET", "/api/v1/plan", {"stack": stack}, None),
            ("GET", "/api/v1/graph", {"format": status}, None),
            ("POST", "/api/v1/chains", None, {"stack": stack, "include_root": body}),
            ("POST", "/api/v1/chains", None, body),
        ]
        for method, path, params, json_body in requests:
            content = None if json_body is None else json.dumps(json_body).encode()
            headers = AUTH | {"Content-Type": "application/json"}
            answer = await api.http.request(
                method, path, params=params, content=content, headers=headers
            )
            assert no_server_error(answer.status_code), (method, path, answer.text)
            assert answer.status_code != 202, (method, path, json_body)

    @FUZZ
    @given(chain=chain_ids, stack=stacks, status=st.text(max_size=12), body=json_values)
    def fuzzed(chain: str, stack: str, status: str, body: Any) -> None:
        on_loop(calls(chain, stack, status, body))

    await asyncio.to_thread(fuzzed)
