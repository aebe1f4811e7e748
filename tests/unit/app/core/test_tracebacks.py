"""A failure inside the Spacelift client, logged as the worker logs a failed activity, shows no
API key secret, JWT or Authorization header: tracebacks never print local variables."""

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx
import structlog

from app.core.logs import configure_logging
from spacelift import SpaceliftClient, SpaceliftError
from tests.unit.spacelift.fakes import (
    ENDPOINT,
    GRAPHQL_URL,
    JWT,
    KEY_ID,
    KEY_SECRET,
    FakeApi,
    login_answer,
)

ACTIVITY_LOG = logging.getLogger("temporalio.activity")
"""Where temporalio's worker logs "Completing activity as failed", with ``exc_info``."""


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """A fake Spacelift behind respx that logs the key in (and hands out ``JWT``)."""
    fake = FakeApi()
    fake.on("ApiKeyUser", login_answer())
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(GRAPHQL_URL).mock(side_effect=fake)
        yield fake


@pytest.fixture
def console_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Our logging as on a terminal (the coloured console renderer), writing to captured stderr."""
    del capsys  # capture first, so the handler writes to the captured stream
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(json_lines=False)
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


async def trigger_like_an_activity(key_secret: str) -> None:
    """What an activity does: a client built from the key, a call that Spacelift answers 503."""
    async with SpaceliftClient(ENDPOINT, api_key_id=KEY_ID, api_key_secret=key_secret) as client:
        await client.get_stack("network")


@pytest.mark.usefixtures("console_logs")
async def test_a_spacelift_503_logged_by_the_worker_shows_no_secret(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    """The traceback is there (class, frames), the secret, the JWT and the header are not."""
    api.on("Stack", httpx.Response(503, text="upstream unavailable"))
    try:
        await trigger_like_an_activity(KEY_SECRET)
    except SpaceliftError:
        ACTIVITY_LOG.warning("Completing activity as failed", exc_info=True)
    else:
        pytest.fail("a 503 must fail the call")
    output = capsys.readouterr().err
    assert "Completing activity as failed" in output
    assert "Traceback" in output
    assert "trigger_like_an_activity" in output  # the frames are shown, only not their locals
    for secret in (KEY_SECRET, JWT, f"Bearer {JWT}"):
        assert secret not in output
