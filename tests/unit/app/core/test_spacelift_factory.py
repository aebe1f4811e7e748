"""The Spacelift client is built from the settings, or refused in sandbox mode."""

import pytest

from app.core.settings import load_settings
from app.core.spacelift_factory import NoSpaceliftAccountError, create_spacelift_client
from spacelift import SpaceliftClient


def test_sandbox_mode_has_no_client() -> None:
    """With no endpoint there is no account to talk to."""
    settings = load_settings(spacelift_endpoint=None, spacelift_token=None, spacelift_key_id=None)
    with pytest.raises(NoSpaceliftAccountError, match="no Spacelift account is configured"):
        create_spacelift_client(settings)


async def test_client_for_the_configured_account() -> None:
    """An endpoint and a token give a client for that endpoint."""
    settings = load_settings(
        spacelift_endpoint="https://acme.app.spacelift.io/", spacelift_token="t0k"
    )
    client = create_spacelift_client(settings)
    assert isinstance(client, SpaceliftClient)
    assert client.endpoint == "https://acme.app.spacelift.io"
    await client.aclose()
