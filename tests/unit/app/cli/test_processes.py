"""`serve`, `api` and `worker` refuse bad set-ups before starting anything."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.core.settings import get_settings

ACCOUNT = {
    "SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io",
    "SPACELIFT_API_TOKEN": "jwt",
}


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test reads its own environment, from an empty working directory."""
    monkeypatch.chdir(tmp_path)
    for name in (*ACCOUNT, "STACKCHAIN_WEBHOOK_SECRET", "STACKCHAIN_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_serve_on_a_public_host_without_a_token_is_wrong_usage() -> None:
    """--host 0.0.0.0 without STACKCHAIN_API_TOKEN exits 2 and says what to set."""
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])  # noqa: S104
    assert result.exit_code == 2
    assert "STACKCHAIN_API_TOKEN" in result.output


def test_serve_with_an_account_but_no_webhook_secret_fails_first() -> None:
    """A real Spacelift account needs STACKCHAIN_WEBHOOK_SECRET: exit 1 before anything runs."""
    result = CliRunner().invoke(app, ["serve"], env=ACCOUNT)
    assert result.exit_code == 1
    assert "STACKCHAIN_WEBHOOK_SECRET is required" in result.output
    assert not Path(".stackchain").exists()


def test_worker_without_an_account_says_how_to_run_the_sandbox() -> None:
    """The worker needs a real (or explicitly pointed-at) Spacelift: exit 1 with the way out."""
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "stackchain serve" in result.output


def test_api_refuses_a_public_address_without_a_token() -> None:
    """stackchain api --host 0.0.0.0 with no STACKCHAIN_API_TOKEN exits 2 and says why."""
    result = CliRunner().invoke(app, ["api", "--host", "0.0.0.0"])  # noqa: S104 - refused
    assert result.exit_code == 2
    assert "STACKCHAIN_API_TOKEN" in result.output


def test_api_without_the_webhook_secret_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """stackchain api against a real account without the webhook secret exits 1, naming it."""
    for name, value in ACCOUNT.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["api"])
    assert result.exit_code == 1
    assert "STACKCHAIN_WEBHOOK_SECRET" in result.output
