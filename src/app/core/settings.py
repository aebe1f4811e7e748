"""Settings from the environment or a ``.env`` file, under the contract's names.

Only this module reads the environment, once, through :func:`get_settings`. Everything else is
handed explicit values.
"""

import functools
import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.stackfile.durations import Duration


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``, ``[::1]``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BindRefusedError(ValueError):
    """The API would be reachable from other machines without a token."""


def check_bind(host: str, *, has_token: bool) -> None:
    """Refuse a non-loopback address unless ``STACKCHAIN_API_TOKEN`` is set."""
    if not has_token and not is_loopback(host):
        msg = (
            f"refusing to serve the API on {host} without a token: set STACKCHAIN_API_TOKEN, "
            "or bind to 127.0.0.1"
        )
        raise BindRefusedError(msg)


class Settings(BaseSettings):
    """Every setting stackchain reads. Field aliases are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,  # `STACKCHAIN_API_TOKEN=` in a .env is unset, not an empty token
    )

    spacelift_endpoint: str | None = Field(
        None, validation_alias=_env("SPACELIFT_API_KEY_ENDPOINT")
    )
    spacelift_key_id: str | None = Field(None, validation_alias=_env("SPACELIFT_API_KEY_ID"))
    spacelift_key_secret: SecretStr | None = Field(
        None, validation_alias=_env("SPACELIFT_API_KEY_SECRET")
    )
    spacelift_token: SecretStr | None = Field(None, validation_alias=_env("SPACELIFT_API_TOKEN"))

    temporal_address: str | None = Field(None, validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    temporal_api_key: SecretStr | None = Field(None, validation_alias=_env("TEMPORAL_API_KEY"))
    temporal_tls_cert: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_CERT"))
    temporal_tls_key: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_KEY"))

    config_path: Path = Field(
        Path("config/stacks.yaml"), validation_alias=_env("STACKCHAIN_CONFIG")
    )
    webhook_secret: SecretStr | None = Field(
        None, validation_alias=_env("STACKCHAIN_WEBHOOK_SECRET")
    )
    api_token: SecretStr | None = Field(None, validation_alias=_env("STACKCHAIN_API_TOKEN"))
    task_queue: str = Field(
        "stackchain", min_length=1, validation_alias=_env("STACKCHAIN_TASK_QUEUE")
    )
    poll_interval: Duration = Field(
        timedelta(seconds=60), validation_alias=_env("STACKCHAIN_POLL_INTERVAL")
    )
    spacelift_timeout: Duration = Field(
        timedelta(seconds=30), validation_alias=_env("STACKCHAIN_SPACELIFT_TIMEOUT")
    )
    url: str = Field("http://127.0.0.1:8000", validation_alias=_env("STACKCHAIN_URL"))
    public_url: str | None = Field(None, validation_alias=_env("STACKCHAIN_PUBLIC_URL"))
    event_max_age: Duration = Field(
        timedelta(hours=6), validation_alias=_env("STACKCHAIN_EVENT_MAX_AGE")
    )
    reconcile_interval: Duration = Field(
        timedelta(minutes=5), validation_alias=_env("STACKCHAIN_RECONCILE_INTERVAL")
    )
    http_max_connections: int = Field(100, validation_alias=_env("STACKCHAIN_HTTP_MAX_CONNECTIONS"))
    http_keepalive_timeout: Duration = Field(
        timedelta(seconds=5), validation_alias=_env("STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT")
    )
    http_shutdown_timeout: Duration = Field(
        timedelta(seconds=10), validation_alias=_env("STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT")
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name, value in (
            ("STACKCHAIN_POLL_INTERVAL", self.poll_interval),
            ("STACKCHAIN_SPACELIFT_TIMEOUT", self.spacelift_timeout),
            ("STACKCHAIN_EVENT_MAX_AGE", self.event_max_age),
            ("STACKCHAIN_RECONCILE_INTERVAL", self.reconcile_interval),
        ):
            if value <= timedelta():
                msg = f"{name} must be longer than zero"
                raise ValueError(msg)
        self._check_http_limits()
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                msg = f"STACKCHAIN_PUBLIC_URL must be an http(s) URL, got {self.public_url!r}"
                raise ValueError(msg)
        if self.spacelift_endpoint is None:
            return self
        parts = urlsplit(self.spacelift_endpoint)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            msg = (
                "SPACELIFT_API_KEY_ENDPOINT must be a URL such as "
                f"https://acme.app.spacelift.io, got {self.spacelift_endpoint!r}"
            )
            raise ValueError(msg)
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            msg = "SPACELIFT_API_KEY_ENDPOINT may use http only for a loopback address; use https"
            raise ValueError(msg)
        has_key = self.spacelift_key_id is not None and self.spacelift_key_secret is not None
        if not has_key and self.spacelift_token is None:
            msg = (
                "SPACELIFT_API_KEY_ENDPOINT is set but no credentials are: set "
                "SPACELIFT_API_KEY_ID and SPACELIFT_API_KEY_SECRET, or SPACELIFT_API_TOKEN"
            )
            raise ValueError(msg)
        if (self.spacelift_key_id is None) != (self.spacelift_key_secret is None):
            msg = "SPACELIFT_API_KEY_ID and SPACELIFT_API_KEY_SECRET must be set together"
            raise ValueError(msg)
        return self

    def _check_http_limits(self) -> None:
        """The HTTP limits as uvicorn takes them: a positive count, whole seconds."""
        if self.http_max_connections < 1:
            msg = "STACKCHAIN_HTTP_MAX_CONNECTIONS must be at least 1"
            raise ValueError(msg)
        for name, value in (
            ("STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT", self.http_keepalive_timeout),
            ("STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT", self.http_shutdown_timeout),
        ):
            if value < timedelta(seconds=1) or value.total_seconds() % 1:
                msg = f"{name} must be whole seconds, at least 1s (such as 5s or 1m)"
                raise ValueError(msg)

    @property
    def spacelift_identity(self) -> str | None:
        """Who Spacelift records as triggering stackchain's runs.

        ``api::<key id>`` with an API key; unknown with a ready token (the engine then learns
        it from runTrigger's answers).
        """
        return f"api::{self.spacelift_key_id}" if self.spacelift_key_id else None

    @property
    def uses_sandbox(self) -> bool:
        """True when no Spacelift account is configured: the built-in sandbox stands in."""
        return self.spacelift_endpoint is None

    @property
    def embedded_temporal(self) -> bool:
        """True when no Temporal address is configured: stackchain starts its own dev server."""
        return self.temporal_address is None


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{where.upper()}: {message}" if item["loc"] else message)
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
