"""How the web server starts: the webhook secret an account needs, and the sandbox's default."""

from pathlib import Path

import pytest

from app.core.settings import SettingsError, load_settings
from app.core.webhook_secret import SANDBOX_WEBHOOK_SECRET, resolve_webhook_secret
from app.web.server import create_app
from tests.unit.app.web.webapp import write_stacks

ACCOUNT = {"spacelift_endpoint": "https://acme.app.spacelift.io", "spacelift_token": "t0ken"}


def test_a_spacelift_account_needs_the_webhook_secret(tmp_path: Path) -> None:
    """With a real account and no STACKCHAIN_WEBHOOK_SECRET, create_app stops with a clear error."""
    settings = load_settings(**ACCOUNT, webhook_secret=None, config_path=write_stacks(tmp_path))
    with pytest.raises(SettingsError, match="STACKCHAIN_WEBHOOK_SECRET is required"):
        create_app(settings)


def test_the_sandbox_has_a_default_webhook_secret() -> None:
    """Without an account (sandbox), the secret defaults to the sandbox's; a set one wins."""
    assert resolve_webhook_secret(load_settings(webhook_secret=None)) == (
        SANDBOX_WEBHOOK_SECRET.encode()
    )
    chosen = load_settings(**ACCOUNT, webhook_secret="mine")
    assert resolve_webhook_secret(chosen) == b"mine"
