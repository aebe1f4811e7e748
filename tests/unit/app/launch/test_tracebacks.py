"""A 500 of the API, logged on a console through our logging, shows no API token: neither our
handler's line nor uvicorn's "Exception in ASGI application" prints local variables."""

import logging
import logging.config
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
import uvicorn.config

from app.core.logs import SERVER_LOGGERS, configure_logging
from app.web.server import create_app
from tests.unit.app.launch.served import serving
from tests.unit.app.web.webapp import no_temporal, settings_for

TOKEN = "api-token-7c5e0b9a"


@pytest.fixture
def console_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Our logging as on a terminal (the coloured console renderer), writing to captured stderr.

    Before it, uvicorn's own default config, as a server run with it (the sandbox's) leaves the
    process: its loggers get their own stderr handler and stop propagating to ours.
    """
    del capsys  # capture first, so the handler writes to the captured stream
    loggers = [logging.getLogger(), *map(logging.getLogger, SERVER_LOGGERS)]
    saved = [(each.handlers[:], each.level, each.propagate) for each in loggers]
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    configure_logging(json_lines=False)
    yield
    structlog.reset_defaults()
    for each, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        each.handlers, each.level, each.propagate = handlers, level, propagate


@pytest.mark.usefixtures("console_logs")
async def test_a_500_on_a_console_prints_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The handler holds the token in a local and the request carries it in its headers; the
    logged tracebacks name the error and its frames, never the token."""
    settings = settings_for(tmp_path, api_token=TOKEN)
    app = create_app(settings, temporal=no_temporal)

    @app.get("/api/v1/test-only-failure")
    async def fail() -> None:
        token = settings.api_token.get_secret_value() if settings.api_token else ""
        msg = f"a bug, with a token of {len(token)} characters at hand"
        raise RuntimeError(msg)

    async with (
        serving(app, settings) as (_, port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        answer = await http.get(
            "/api/v1/test-only-failure", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    output = capsys.readouterr().err
    assert answer.status_code == 500
    rendered = re.sub(r"\x1b\[[0-9;]*m", "", output)  # without the console's colours
    assert "[error    ] Exception in ASGI application" in rendered  # uvicorn's, by our renderer
    assert "RuntimeError: a bug, with a token of 18 characters at hand" in output
    assert "Traceback" in output
    assert TOKEN not in output
