"""The web app under test: built from settings in a temporary folder, reached over ASGI.

A module that needs other settings overrides ``web``; ``client`` then follows it.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.app.web.webapp import WebApp, build, settings_for


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(settings_for(tmp_path))


@pytest.fixture
async def client(web: WebApp) -> AsyncIterator[httpx.AsyncClient]:
    async with web.client() as http:
        yield http
