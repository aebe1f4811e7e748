"""GraphQL chaos as the client sees it: 5xx, 429, hangs and lost answers of committed triggers."""

import time

import pytest

from spacelift import RateLimitedError, RunState, SpaceliftClient, SpaceliftError, TransientError
from spacelift.sandbox import (
    DEFAULT_KEY_ID,
    DEFAULT_KEY_SECRET,
    Chaos,
    Fault,
    Sandbox,
    running_sandbox,
)
from tests.unit.spacelift.sandbox.conftest import connect
from tests.unit.spacelift.sandbox.support import world


async def test_a_5xx_fault_fails_the_call_without_executing_it(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """A targeted error answers 503 before running: TransientError, no run; it is used up after."""
    sandbox.chaos.add_fault(Fault("error", "RunTrigger"))
    with pytest.raises(TransientError, match="HTTP 503"):
        await client.trigger_run("network")
    assert sandbox.runs("network") == []
    await client.trigger_run("network")
    assert len(sandbox.runs("network")) == 1


async def test_a_fault_hits_the_next_n_requests_of_its_operation_only(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """count=2 on Stack fails two get_stack calls; other operations pass meanwhile."""
    sandbox.chaos.add_fault(Fault("error", "stack", count=2, status=500))
    for _ in range(2):
        with pytest.raises(TransientError, match="HTTP 500"):
            await client.get_stack("network")
        await client.list_spaces()
    assert (await client.get_stack("network")).id == "network"
    assert sandbox.chaos.knobs.faults == []


async def test_429_carries_retry_after(sandbox: Sandbox, client: SpaceliftClient) -> None:
    """A rate-limit fault is HTTP 429 with Retry-After, read by the client as retry_after."""
    sandbox.chaos.update({"retry_after": 7})
    sandbox.chaos.add_fault(Fault("rate_limit"))
    with pytest.raises(RateLimitedError) as caught:
        await client.list_spaces()
    assert caught.value.retry_after == 7.0


async def test_a_hung_request_times_out_in_the_client(sandbox: Sandbox) -> None:
    """A hang holds the answer past the client's time-out: TransientError("timed out")."""
    sandbox.chaos.add_fault(Fault("hang", "Spaces"))
    started = time.monotonic()
    async with connect(sandbox, timeout=0.3) as client:
        with pytest.raises(TransientError, match="timed out"):
            await client.list_spaces()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("lose_with", ["status", "hang", "drop"])
async def test_a_trigger_whose_answer_is_lost_still_made_its_run(
    sandbox: Sandbox, lose_with: str
) -> None:
    """runTrigger commits the run, then the answer is a 502, never comes, or the line drops."""
    sandbox.chaos.add_fault(Fault("lose_answer", "runTrigger", lose_with=lose_with))  # type: ignore[arg-type]
    async with connect(sandbox, timeout=0.3) as client:
        with pytest.raises(TransientError):
            await client.trigger_run("network")
    (run,) = sandbox.runs("network")
    assert run.source == "api"
    await sandbox.wait_for_run_state("network", run.id, RunState.FINISHED)


async def test_a_dropped_connection_over_loopback_is_a_transient_error() -> None:
    """Over real TCP the cut connection after a committed trigger is a TransientError too."""
    config = world(chaos=Chaos(faults=[Fault("lose_answer", "RunTrigger", lose_with="drop")]))
    async with (
        running_sandbox(config) as served,
        SpaceliftClient(
            served.url, api_key_id=DEFAULT_KEY_ID, api_key_secret=DEFAULT_KEY_SECRET, timeout=2
        ) as client,
    ):
        with pytest.raises(TransientError):
            await client.trigger_run("network")
        assert len(served.sandbox.runs("network")) == 1
        assert (await client.get_stack("network")).id == "network"


async def failures(seed: int) -> list[bool]:
    config = world(chaos=Chaos(seed=seed, error_rate=0.3, rate_limit_rate=0.2))
    async with Sandbox(config) as sandbox, connect(sandbox) as client:
        outcome = []
        for _ in range(20):
            try:
                await client.get_stack("network")
            except SpaceliftError:
                outcome.append(True)
            else:
                outcome.append(False)
        return outcome


async def test_rate_based_faults_are_reproducible_and_spare_the_login() -> None:
    """error_rate and rate_limit_rate fail the same calls for the same seed; log-ins never fail."""
    first = await failures(seed=5)
    assert first == await failures(seed=5)
    assert 0 < sum(first) < len(first)


async def test_lose_trigger_rate_creates_every_run(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """At lose_trigger_rate 1 every trigger fails in the client, yet each made its run."""
    sandbox.chaos.update({"lose_trigger_rate": 1.0})
    for _ in range(3):
        with pytest.raises(TransientError, match="HTTP 502"):
            await client.trigger_run("network")
    assert len(sandbox.runs("network")) == 3
    assert (await client.get_stack("network")).id == "network"
