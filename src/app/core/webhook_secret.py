"""The secret Spacelift signs webhooks with, and who may do without setting it.

``STACKCHAIN_WEBHOOK_SECRET`` is required by ``stackchain api`` in every case: an API serving
alone may face the internet, and the sandbox's secret is public. Only ``stackchain serve`` with
the built-in sandbox (no Spacelift credentials) falls back to :data:`SANDBOX_WEBHOOK_SECRET`, the
secret its own sandbox signs with, so ``make run`` works with no set-up; set the variable to use
another one in both.
"""

from app.core.settings import Settings, SettingsError

SANDBOX_WEBHOOK_SECRET = "stackchain-sandbox-webhook-secret"  # noqa: S105 - public demo value
"""The sandbox's well-known webhook secret: only ever used when no Spacelift account is set."""


class WebhookSecretMissingError(SettingsError):
    """``STACKCHAIN_WEBHOOK_SECRET`` is not set where it is required."""


def sandbox_webhook_secret(settings: Settings) -> bytes:
    """The secret a sandbox signs with: ``STACKCHAIN_WEBHOOK_SECRET`` if set, else the default."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value().encode()
    return SANDBOX_WEBHOOK_SECRET.encode()


def resolve_webhook_secret(settings: Settings) -> bytes:
    """The secret ``serve`` checks webhooks with: the sandbox's default only with the sandbox.

    Raises :class:`WebhookSecretMissingError` with a Spacelift account and no secret.
    """
    if settings.webhook_secret is not None or settings.uses_sandbox:
        return sandbox_webhook_secret(settings)
    msg = (
        "STACKCHAIN_WEBHOOK_SECRET is required with a Spacelift account: set it to the secret of "
        "the webhook in Spacelift (Integrations > Webhooks)"
    )
    raise WebhookSecretMissingError(msg)


def require_webhook_secret(settings: Settings) -> bytes:
    """The secret ``stackchain api`` checks webhooks with, which must be set, sandbox or not.

    Raises :class:`WebhookSecretMissingError` when ``STACKCHAIN_WEBHOOK_SECRET`` is unset.
    """
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value().encode()
    msg = (
        "STACKCHAIN_WEBHOOK_SECRET is required: `stackchain api` checks every webhook's signature "
        "with it, so set it to the secret of the webhook in Spacelift (Integrations > Webhooks). "
        "Only `stackchain serve` with the built-in sandbox uses the sandbox's public secret"
    )
    raise WebhookSecretMissingError(msg)
