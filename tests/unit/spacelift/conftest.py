from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from spacelift import SpaceliftClient
from tests.unit.spacelift.fakes import (
    ENDPOINT,
    GRAPHQL_URL,
    KEY_ID,
    KEY_SECRET,
    FakeApi,
    login_answer,
)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """A fake Spacelift behind respx; the API key log-in answers by default."""
    fake = FakeApi()
    fake.on("ApiKeyUser", login_answer())
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(GRAPHQL_URL).mock(side_effect=fake)
        yield fake


@pytest.fixture
async def client(api: FakeApi) -> AsyncIterator[SpaceliftClient]:  # noqa: ARG001 - respx first
    """A client with an API key and a rate limit too loose to matter."""
    async with SpaceliftClient(
        ENDPOINT,
        api_key_id=KEY_ID,
        api_key_secret=KEY_SECRET,
        requests_per_second=1000,
        burst=1000,
    ) as spacelift:
        yield spacelift
