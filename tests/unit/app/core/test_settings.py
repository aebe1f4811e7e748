"""Settings under the contract's names: defaults, durations, and errors that name the variable."""

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.settings import Settings, SettingsError, load_settings
from app.stackfile.durations import format_duration, parse_duration

ALL_NAMES = (
    "SPACELIFT_API_KEY_ENDPOINT", "SPACELIFT_API_KEY_ID", "SPACELIFT_API_KEY_SECRET",
    "SPACELIFT_API_TOKEN", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY",
    "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "STACKCHAIN_CONFIG", "STACKCHAIN_WEBHOOK_SECRET",
    "STACKCHAIN_API_TOKEN", "STACKCHAIN_TASK_QUEUE", "STACKCHAIN_POLL_INTERVAL",
    "STACKCHAIN_SPACELIFT_TIMEOUT", "STACKCHAIN_URL", "STACKCHAIN_EVENT_MAX_AGE",
    "STACKCHAIN_RECONCILE_INTERVAL", "STACKCHAIN_HTTP_MAX_CONNECTIONS",
    "STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT", "STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT",
    "STACKCHAIN_PUBLIC_URL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable from the machine, and no .env from the repository, leaks into a test."""
    for name in ALL_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_contracts() -> None:
    """Unset, every setting has the contract's default, and the sandbox and embedded Temporal
    stand in."""
    settings = load_settings()
    assert settings.uses_sandbox
    assert settings.embedded_temporal
    assert settings.temporal_namespace == "default"
    assert settings.config_path == Path("config/stacks.yaml")
    assert settings.task_queue == "stackchain"
    assert settings.poll_interval == timedelta(seconds=60)
    assert settings.spacelift_timeout == timedelta(seconds=30)
    assert settings.url == "http://127.0.0.1:8000"
    assert settings.event_max_age == timedelta(hours=6)
    assert settings.reconcile_interval == timedelta(minutes=5)
    assert settings.webhook_secret is None
    assert settings.api_token is None
    assert settings.public_url is None


def test_every_contract_name_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each variable of the contract's table lands in a setting."""
    values = {
        "SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io",
        "SPACELIFT_API_KEY_ID": "01KEY",
        "SPACELIFT_API_KEY_SECRET": "key-secret",
        "SPACELIFT_API_TOKEN": "jwt",
        "TEMPORAL_ADDRESS": "temporal:7233",
        "TEMPORAL_NAMESPACE": "infra",
        "TEMPORAL_API_KEY": "cloud-key",
        "TEMPORAL_TLS_CERT": "/certs/client.pem",
        "TEMPORAL_TLS_KEY": "/certs/client.key",
        "STACKCHAIN_CONFIG": "/etc/stackchain/stacks.yaml",
        "STACKCHAIN_WEBHOOK_SECRET": "hook",
        "STACKCHAIN_API_TOKEN": "api",
        "STACKCHAIN_TASK_QUEUE": "prod",
        "STACKCHAIN_POLL_INTERVAL": "2m",
        "STACKCHAIN_SPACELIFT_TIMEOUT": "45s",
        "STACKCHAIN_URL": "https://stackchain.acme.example",
        "STACKCHAIN_EVENT_MAX_AGE": "1h30m",
        "STACKCHAIN_RECONCILE_INTERVAL": "90s",
        "STACKCHAIN_PUBLIC_URL": "https://stackchain.acme.example/console",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    secrets = (s.spacelift_key_secret, s.spacelift_token, s.temporal_api_key, s.webhook_secret,
               s.api_token)  # fmt: skip
    assert [x.get_secret_value() for x in secrets if x] == [
        "key-secret", "jwt", "cloud-key", "hook", "api"
    ]  # fmt: skip
    assert (s.spacelift_endpoint, s.spacelift_key_id) == ("https://acme.app.spacelift.io", "01KEY")
    assert (s.temporal_address, s.temporal_namespace) == ("temporal:7233", "infra")
    assert (s.temporal_tls_cert, s.temporal_tls_key) == (
        Path("/certs/client.pem"), Path("/certs/client.key")
    )  # fmt: skip
    assert s.config_path == Path("/etc/stackchain/stacks.yaml")
    assert (s.task_queue, s.url) == ("prod", "https://stackchain.acme.example")
    assert (s.poll_interval, s.spacelift_timeout) == (timedelta(minutes=2), timedelta(seconds=45))
    assert (s.event_max_age, s.reconcile_interval) == (
        timedelta(minutes=90), timedelta(seconds=90)
    )  # fmt: skip
    assert s.public_url == "https://stackchain.acme.example/console"
    assert not s.uses_sandbox
    assert not s.embedded_temporal


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STACKCHAIN_POLL_INTERVAL", "soon", "STACKCHAIN_POLL_INTERVAL: 'soon' is not a duration"),
        ("STACKCHAIN_POLL_INTERVAL", "0s", "STACKCHAIN_POLL_INTERVAL must be longer than zero"),
        ("STACKCHAIN_SPACELIFT_TIMEOUT", "30", "STACKCHAIN_SPACELIFT_TIMEOUT: '30' is not"),
        ("STACKCHAIN_EVENT_MAX_AGE", "6 hours", "STACKCHAIN_EVENT_MAX_AGE: '6 hours' is not"),
        ("STACKCHAIN_EVENT_MAX_AGE", "0h", "STACKCHAIN_EVENT_MAX_AGE must be longer than zero"),
        ("STACKCHAIN_RECONCILE_INTERVAL", "-5m", "STACKCHAIN_RECONCILE_INTERVAL: '-5m' is not"),
        ("STACKCHAIN_RECONCILE_INTERVAL", "0s", "STACKCHAIN_RECONCILE_INTERVAL must be longer"),
        ("SPACELIFT_API_KEY_ENDPOINT", "acme", "SPACELIFT_API_KEY_ENDPOINT must be a URL"),
        ("SPACELIFT_API_KEY_ENDPOINT", "http://acme.app.spacelift.io", "only for a loopback"),
        ("SPACELIFT_API_KEY_ENDPOINT", "https://acme.app.spacelift.io", "no credentials are"),
        ("STACKCHAIN_PUBLIC_URL", "stackchain.acme.example", "STACKCHAIN_PUBLIC_URL must be an"),
        ("STACKCHAIN_PUBLIC_URL", "ftp://acme.example", "STACKCHAIN_PUBLIC_URL must be an"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    """A malformed setting stops start-up with a message that names the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_key_id_and_secret_come_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """An API key id without its secret is refused, even when a token is also set."""
    monkeypatch.setenv("SPACELIFT_API_KEY_ENDPOINT", "https://acme.app.spacelift.io")
    monkeypatch.setenv("SPACELIFT_API_TOKEN", "jwt")
    monkeypatch.setenv("SPACELIFT_API_KEY_ID", "01KEY")
    with pytest.raises(SettingsError, match="must be set together"):
        load_settings()


def test_http_is_allowed_for_a_loopback_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local Spacelift (the sandbox) may be plain http."""
    monkeypatch.setenv("SPACELIFT_API_KEY_ENDPOINT", "http://127.0.0.1:8001")
    monkeypatch.setenv("SPACELIFT_API_TOKEN", "jwt")
    assert load_settings().spacelift_endpoint == "http://127.0.0.1:8001"


def test_secrets_stay_out_of_repr_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printing the settings, or failing on another variable, never shows a secret."""
    monkeypatch.setenv("STACKCHAIN_WEBHOOK_SECRET", "hook-secret-value")
    monkeypatch.setenv("SPACELIFT_API_KEY_SECRET", "key-secret-value")
    monkeypatch.setenv("SPACELIFT_API_KEY_ID", "01KEY")
    assert "secret-value" not in repr(Settings())
    monkeypatch.setenv("STACKCHAIN_POLL_INTERVAL", "never")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "secret-value" not in str(caught.value)


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    """Settings come from ./.env when the environment does not have them."""
    (tmp_path / ".env").write_text(
        "STACKCHAIN_TASK_QUEUE=from-dotenv\nSTACKCHAIN_POLL_INTERVAL=5s\n"
    )
    settings = load_settings()
    assert settings.task_queue == "from-dotenv"
    assert settings.poll_interval == timedelta(seconds=5)


def test_an_empty_value_counts_as_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`NAME=` (as an .env template leaves it) is no empty API token and no empty Temporal key."""
    (tmp_path / ".env").write_text("STACKCHAIN_API_TOKEN=\nTEMPORAL_API_KEY=\n")
    monkeypatch.setenv("STACKCHAIN_WEBHOOK_SECRET", "")
    settings = load_settings()
    assert settings.api_token is None
    assert settings.temporal_api_key is None
    assert settings.webhook_secret is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("5m", timedelta(minutes=5)), ("2h", timedelta(hours=2)),
     ("1h30m", timedelta(minutes=90)), ("250ms", timedelta(milliseconds=250)),
     ("1d", timedelta(days=1))],
)  # fmt: skip
def test_durations_in_the_files_syntax(text: str, expected: timedelta) -> None:
    """Durations read as the dependency file writes them."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "5x", "-5s", "1.5h"])
def test_what_is_not_a_duration(text: str) -> None:
    """Anything else is refused with what is expected."""
    with pytest.raises(ValueError, match="is not a duration such as 30s"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_formatting_a_duration_reads_back(milliseconds: int) -> None:
    """format_duration writes what parse_duration reads, for any whole number of ms."""
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value


HTTP_TIMEOUTS = {
    "STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT": "http_keepalive_timeout",
    "STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT": "http_shutdown_timeout",
}


def test_http_limits_are_read_from_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """STACKCHAIN_HTTP_MAX_CONNECTIONS, _KEEPALIVE_TIMEOUT, _SHUTDOWN_TIMEOUT are read."""
    monkeypatch.setenv("STACKCHAIN_HTTP_MAX_CONNECTIONS", "250")
    monkeypatch.setenv("STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT", "2s")
    monkeypatch.setenv("STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT", "1m")
    settings = load_settings()
    assert settings.http_max_connections == 250
    assert settings.http_keepalive_timeout == timedelta(seconds=2)
    assert settings.http_shutdown_timeout == timedelta(minutes=1)


@given(st.integers(max_value=0))
def test_a_connection_limit_below_one_is_refused(count: int) -> None:
    """No connection limit of zero or less: it would refuse everything, or nothing."""
    with pytest.raises(SettingsError, match="STACKCHAIN_HTTP_MAX_CONNECTIONS must be at least 1"):
        load_settings(http_max_connections=str(count))


@given(
    st.sampled_from(sorted(HTTP_TIMEOUTS)),
    st.integers(min_value=0, max_value=10**8).filter(lambda ms: ms < 1000 or ms % 1000),
)
def test_http_timeouts_are_whole_seconds_of_at_least_one(name: str, milliseconds: int) -> None:
    """uvicorn counts these in whole seconds: ``0s``, ``500ms`` or ``1s1ms`` is refused, named."""
    with pytest.raises(SettingsError, match=f"{name} must be whole seconds, at least 1s"):
        load_settings(**{HTTP_TIMEOUTS[name]: f"{milliseconds}ms"})


@pytest.mark.parametrize("value", ["many", "1.5", "0x10"])
def test_a_connection_limit_that_is_no_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A connection limit must be a whole number; the message names the variable."""
    monkeypatch.setenv("STACKCHAIN_HTTP_MAX_CONNECTIONS", value)
    with pytest.raises(SettingsError, match="STACKCHAIN_HTTP_MAX_CONNECTIONS"):
        load_settings()
