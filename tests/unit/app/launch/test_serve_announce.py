"""``stackchain serve`` says loudly, last, when its API takes commands without a token."""

import io
from pathlib import Path

import pytest
from rich.console import Console

from app.core.settings import Settings, load_settings
from app.launch.serve import ServeOptions, announce


@pytest.fixture(autouse=True)
def empty_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env or token from the machine."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STACKCHAIN_API_TOKEN", raising=False)


def announced(settings: Settings) -> str:
    """What serve prints once everything is up, as a colour terminal shows it."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="standard", width=1000)
    announce(console, settings, settings, ServeOptions(), "http://127.0.0.1:8233")
    return screen.getvalue()


def test_without_a_token_the_last_line_is_a_red_warning() -> None:
    """No STACKCHAIN_API_TOKEN: a bold red WARNING, last, that says who can use the API and how
    to set a token."""
    lines = announced(load_settings()).splitlines()
    warning = lines[-1]
    assert "\x1b[1;31mWARNING: no STACKCHAIN_API_TOKEN is set" in warning  # bold red
    assert "http://127.0.0.1:8000" in warning
    assert "anyone who can reach it on loopback" in warning
    assert "Set STACKCHAIN_API_TOKEN" in warning


def test_with_a_token_there_is_no_warning() -> None:
    """A token set: the announcement has no warning about it."""
    assert "WARNING" not in announced(load_settings(api_token="t0ken"))
