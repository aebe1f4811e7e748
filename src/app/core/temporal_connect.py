"""Connecting to Temporal from settings: the embedded dev server, a cluster or Temporal Cloud."""

from temporalio.client import Client
from temporalio.service import TLSConfig

from app.core.settings import Settings
from temporal.client import connect
from temporal.search_attributes import ensure_search_attributes

EMBEDDED_ADDRESS = "127.0.0.1:7233"
"""Where ``stackchain serve`` runs its embedded dev server (the dev server's default)."""


def temporal_target(settings: Settings) -> str:
    """The Temporal frontend the settings point at: ``TEMPORAL_ADDRESS``, or the embedded one."""
    return settings.temporal_address or EMBEDDED_ADDRESS


class TemporalConnectError(RuntimeError):
    """Temporal could not be reached or set up; the message says where and why."""


def _tls(settings: Settings) -> TLSConfig | bool:
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if cert is None and key is None:
        return settings.temporal_api_key is not None  # Temporal Cloud API keys need TLS
    if cert is None or key is None:
        msg = "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together"
        raise TemporalConnectError(msg)
    return TLSConfig(client_cert=cert.read_bytes(), client_private_key=key.read_bytes())


async def connect_temporal(settings: Settings) -> Client:
    """A client for the configured Temporal, with stackchain's search attributes registered.

    Registration adds only the attributes that are missing, so ``api`` and ``worker`` can both
    do it on start against a shared cluster.
    """
    address = temporal_target(settings)
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    try:
        client = await connect(
            address, namespace=settings.temporal_namespace, api_key=api_key, tls=_tls(settings)
        )
    except RuntimeError as error:
        msg = (
            f"cannot reach Temporal at {address} (namespace {settings.temporal_namespace}): {error}"
        )
        raise TemporalConnectError(msg) from None
    await ensure_search_attributes(client)
    return client
