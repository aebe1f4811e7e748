"""How the web server starts: the webhook secret rule, the CLI's refusals, and the log lines."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from app.cli import app as cli
from app.core import settings as settings_module
from app.core.logs import bind_context, configure_logging, get_logger, new_request_context
from app.core.settings import SettingsError, load_settings
from app.core.webhook_secret import SANDBOX_WEBHOOK_SECRET, resolve_webhook_secret
from app.web.server import create_app
from tests.unit.app.webapp import write_stacks

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


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in ("STACKCHAIN_API_TOKEN", "STACKCHAIN_WEBHOOK_SECRET", "SPACELIFT_API_KEY_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()


@pytest.mark.usefixtures("environment")
def test_api_refuses_a_public_address_without_a_token() -> None:
    """stackchain api --host 0.0.0.0 with no STACKCHAIN_API_TOKEN exits 2 and says why."""
    result = CliRunner().invoke(cli, ["api", "--host", "0.0.0.0"])  # noqa: S104 - refused
    assert result.exit_code == 2
    assert "STACKCHAIN_API_TOKEN" in result.output


@pytest.mark.usefixtures("environment")
def test_api_without_the_webhook_secret_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """stackchain api against a real account without the webhook secret exits 1, naming it."""
    monkeypatch.setenv("SPACELIFT_API_KEY_ENDPOINT", ACCOUNT["spacelift_endpoint"])
    monkeypatch.setenv("SPACELIFT_API_TOKEN", "t0ken")
    result = CliRunner().invoke(cli, ["api"])
    assert result.exit_code == 1
    assert "STACKCHAIN_WEBHOOK_SECRET" in result.output


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    del capsys  # capture first, so the loggers write to the captured stream
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(json_lines=True)
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


@pytest.mark.usefixtures("json_logs")
def test_log_lines_are_json_with_chain_stack_and_run_and_no_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Off a terminal, lines are JSON with chain_id, stack_id and run_id; secrets are masked."""
    new_request_context()
    get_logger("t").info("before")
    bind_context(chain_id="chain-a-1", stack_id="a", run_id="r1")
    get_logger("t").info("after", api_token="s3cret-value", webhook_secret="s3cret-value")
    logging.getLogger("stdlib").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["before", "after", "from the standard library"]
    for line in lines:
        assert {"chain_id", "stack_id", "run_id", "timestamp", "level"} <= set(line)
    assert (lines[1]["chain_id"], lines[1]["stack_id"], lines[1]["run_id"]) == (
        "chain-a-1",
        "a",
        "r1",
    )
    assert "s3cret-value" not in json.dumps(lines)
