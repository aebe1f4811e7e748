"""Fixtures of the deployment tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import settings as settings_module
from tests.deploy.deployfiles import setting_names


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No setting in the environment and no .env: only what a test passes counts."""
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()
