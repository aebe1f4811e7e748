"""The one place a Spacelift client is built from the settings."""

from app.core.settings import Settings
from spacelift import SpaceliftClient


class NoSpaceliftAccountError(Exception):
    """No Spacelift account is configured: only the sandbox could answer."""


def create_spacelift_client(settings: Settings) -> SpaceliftClient:
    """A client for the configured account; raises :class:`NoSpaceliftAccountError` in sandbox mode.

    Secrets leave their ``SecretStr`` only here, straight into the client.
    """
    if settings.spacelift_endpoint is None:
        msg = "no Spacelift account is configured: set SPACELIFT_API_KEY_ENDPOINT and credentials"
        raise NoSpaceliftAccountError(msg)
    secret, token = settings.spacelift_key_secret, settings.spacelift_token
    return SpaceliftClient(
        settings.spacelift_endpoint,
        api_key_id=settings.spacelift_key_id,
        api_key_secret=secret.get_secret_value() if secret is not None else None,
        api_token=token.get_secret_value() if token is not None else None,
        timeout=settings.spacelift_timeout.total_seconds(),
    )
