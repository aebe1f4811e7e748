import asyncio
import time
from collections.abc import Callable

import pytest

from spacelift import SpaceliftClient
from tests.unit.spacelift.fakes import API_TOKEN, ENDPOINT, FakeApi

EPSILON = 1e-6


async def settle(condition: Callable[[], bool], what: str) -> None:
    """Yield to the loop until ``condition()`` holds; fail after a wall-clock deadline."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0)


async def spin(turns: int = 200) -> None:
    """Give every ready task many turns (no time passes on the frozen clock)."""
    for _ in range(turns):
        await asyncio.sleep(0)


def test_limiter_is_a_bucket_of_burst_draining_at_the_rate() -> None:
    """requests_per_second is the sustained rate; burst is the bucket size."""
    client = SpaceliftClient(ENDPOINT, api_token=API_TOKEN, requests_per_second=4, burst=12)
    limiter = client._transport.limiter
    assert limiter.max_rate == 12
    assert limiter.max_rate / limiter.time_period == 4


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (5, 0)])
def test_limits_must_be_positive(rate: float, burst: int) -> None:
    """A zero or negative rate, or an empty bucket, is refused at construction."""
    with pytest.raises(ValueError, match="requests_per_second"):
        SpaceliftClient(ENDPOINT, api_token=API_TOKEN, requests_per_second=rate, burst=burst)


@pytest.mark.asyncio(loop_scope="function")
async def test_burst_goes_at_once_then_the_rate_holds(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 requests go at once; the rest wait and leave at 10 per second of (fake) loop time."""
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])  # the loop's clock stands still
    api.on("Spaces", {"spaces": []})
    client = SpaceliftClient(ENDPOINT, api_token=API_TOKEN, requests_per_second=10, burst=20)

    def sent() -> int:
        return len(api.of("Spaces"))

    tasks = [asyncio.create_task(client.list_spaces()) for _ in range(25)]
    await settle(lambda: sent() == 20, "the burst")
    await spin()
    assert sent() == 20, "nothing beyond the burst while no time passes"

    # A hair past each moment: the limiter's wake-up time is computed in floats and can land a
    # rounding error after the exact sum, which is far below the 0.1 s the test distinguishes.
    now[0] += 0.1 + EPSILON
    await settle(lambda: sent() == 21, "one more after 0.1 s")
    await spin()
    assert sent() == 21

    now[0] += 0.4
    await settle(lambda: sent() == 25, "the rest after 0.5 s in all")
    await asyncio.gather(*tasks)
    await client.aclose()


@pytest.mark.asyncio(loop_scope="function")
async def test_spare_capacity_is_half_the_burst_free(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Background work may read while half the bucket is free, and not once it is used up."""
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "time", lambda: 1000.0)  # no time passes: nothing drains
    api.on("Spaces", {"spaces": []})
    client = SpaceliftClient(ENDPOINT, api_token=API_TOKEN, requests_per_second=10, burst=4)
    assert client.has_spare_capacity()

    await client.list_spaces()
    await client.list_spaces()
    assert client.has_spare_capacity()  # 2 of 4 left

    await client.list_spaces()
    assert not client.has_spare_capacity()  # 1 of 4 left
    await client.aclose()
