"""The secret Spacelift signs webhooks with.

``STACKCHAIN_WEBHOOK_SECRET`` is required against a real Spacelift account. With the built-in
sandbox (no Spacelift credentials), it defaults to :data:`SANDBOX_WEBHOOK_SECRET`, the secret the
sandbox signs its webhooks with, so ``make run`` works with no set-up; set the variable to use
another one in both.
"""

from app.core.settings import Settings, SettingsError

SANDBOX_WEBHOOK_SECRET = "stackchain-sandbox-webhook-secret"  # noqa: S105 - public demo value
"""The sandbox's well-known webhook secret: only ever used when no Spacelift account is set."""


def sandbox_webhook_secret(settings: Settings) -> bytes:
    """The secret a sandbox signs with: ``STACKCHAIN_WEBHOOK_SECRET`` if set, else the default."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value().encode()
    return SANDBOX_WEBHOOK_SECRET.encode()


def resolve_webhook_secret(settings: Settings) -> bytes:
    """The webhook secret's bytes; :class:`SettingsError` when it is required and missing."""
    if settings.webhook_secret is not None or settings.uses_sandbox:
        return sandbox_webhook_secret(settings)
    msg = (
        "STACKCHAIN_WEBHOOK_SECRET is required with a Spacelift account: set it to the secret of "
        "the webhook in Spacelift (Integrations > Webhooks)"
    )
    raise SettingsError(msg)
