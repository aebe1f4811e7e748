"""`serve`, `api` and `worker` refuse bad set-ups before starting anything."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.core.settings import get_settings
from tests.conftest import free_port

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
    """A real Spacelift account needs STACKCHAIN_WEBHOOK_SECRET: exit 2 before anything runs."""
    result = CliRunner().invoke(app, ["serve"], env=ACCOUNT)
    assert result.exit_code == 2
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


def test_api_without_the_webhook_secret_is_wrong_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    """stackchain api against a real account without the webhook secret exits 2, naming it."""
    for name, value in ACCOUNT.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["api"])
    assert result.exit_code == 2
    assert "STACKCHAIN_WEBHOOK_SECRET is required" in result.output


def stackchain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``stackchain ARGS`` as a process in the empty working directory, with only ``env`` set.

    A process, not CliRunner: a command that wrongly starts serving is then killed by the
    time-out and fails its test, instead of serving for ever inside the test run.
    """
    return subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "app", *args],
        env={"PATH": os.environ.get("PATH", "")} | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_api_without_any_setting_refuses_the_sandbox_secret() -> None:
    """No Spacelift settings and no STACKCHAIN_WEBHOOK_SECRET: `api` does not fall back to the
    sandbox's public secret (anyone could sign webhooks); it exits 2 naming the variable."""
    result = stackchain("api", "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert "STACKCHAIN_WEBHOOK_SECRET is required" in result.stderr
    assert "Only `stackchain serve`" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("name", "value"),
    [("STACKCHAIN_HTTP_MAX_CONNECTIONS", "0"), ("STACKCHAIN_HTTP_MAX_CONNECTIONS", "lots"),
     ("STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT", "500ms"), ("STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT", "0s")],
)  # fmt: skip
def test_api_with_a_bad_http_limit_is_wrong_usage(name: str, value: str) -> None:
    """A bad HTTP limit stops `api` before it serves: exit 2, the variable named."""
    env = {"STACKCHAIN_WEBHOOK_SECRET": "s", name: value}
    result = stackchain("api", "--port", str(free_port()), env=env)
    assert result.returncode == 2, result.stderr
    assert name in result.stderr


def test_a_env_file_that_others_can_read_is_warned_about(tmp_path: Path) -> None:
    """A .env readable by group or others: a warning on stderr, and the command still runs."""
    (tmp_path / ".env").write_text("STACKCHAIN_CONFIG=missing.yaml\n")
    (tmp_path / ".env").chmod(0o644)
    loose = CliRunner().invoke(app, ["graph"])
    (tmp_path / ".env").chmod(0o600)
    private = CliRunner().invoke(app, ["graph"])
    assert "warning: .env is readable by other users (mode 0644)" in loose.output
    assert "missing.yaml" in loose.output  # the command ran, and read the .env
    assert loose.exit_code == private.exit_code == 1
    assert "readable by other users" not in private.output
