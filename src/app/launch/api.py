"""The web server alone as a process (``stackchain api``): the FastAPI app under uvicorn."""

import asyncio
import signal
from typing import NoReturn

import uvicorn
from fastapi import FastAPI

from app.core.settings import Settings
from app.core.webhook_secret import require_webhook_secret
from app.launch.http_protocol import HEAD_TIME_LIMIT, guarded_protocol
from app.launch.runtime import exit_process
from app.web.server import create_app


def build_api(settings: Settings) -> FastAPI:
    """The web server for ``settings``, built before anything runs.

    Raises ``WebhookSecretMissingError`` without ``STACKCHAIN_WEBHOOK_SECRET``: unlike ``serve``,
    the API alone never falls back to the sandbox's public secret.
    """
    require_webhook_secret(settings)
    return create_app(settings)


def uvicorn_config(
    app: FastAPI,
    settings: Settings,
    *,
    host: str,
    port: int,
    head_time_limit: float = HEAD_TIME_LIMIT,
) -> uvicorn.Config:
    """How uvicorn serves ``app``: logs through structlog, within the settings' HTTP limits.

    Past ``STACKCHAIN_HTTP_MAX_CONNECTIONS`` open connections (or requests in progress) uvicorn
    answers 503 at once instead of holding more; an idle keep-alive connection is closed after
    ``STACKCHAIN_HTTP_KEEPALIVE_TIMEOUT``; on shutdown, requests still open after
    ``STACKCHAIN_HTTP_SHUTDOWN_TIMEOUT`` are cut. A request head gets ``head_time_limit``
    seconds, and a connection closes lingering (``app.launch.http_protocol``).
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(head_time_limit),
        log_config=None,
        access_log=False,  # RequestLog writes one line per request
        limit_concurrency=settings.http_max_connections,
        timeout_keep_alive=int(settings.http_keepalive_timeout.total_seconds()),
        timeout_graceful_shutdown=int(settings.http_shutdown_timeout.total_seconds()),
    )


def uvicorn_server(
    app: FastAPI,
    settings: Settings,
    *,
    host: str,
    port: int,
    head_time_limit: float = HEAD_TIME_LIMIT,
) -> uvicorn.Server:
    """A uvicorn server for ``app`` (see :func:`uvicorn_config`)."""
    config = uvicorn_config(app, settings, host=host, port=port, head_time_limit=head_time_limit)
    return uvicorn.Server(config)


def run_api_process(app: FastAPI, settings: Settings, *, host: str, port: int) -> NoReturn:
    """Serve ``app`` until SIGINT or SIGTERM, then leave (0 after a clean stop)."""
    # uvicorn re-raises the signal it shut down on: a clean stop by SIGTERM then exits 0 here.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        asyncio.run(uvicorn_server(app, settings, host=host, port=port).serve())
        code = 0
    except SystemExit as exit_:  # uvicorn exits when it cannot bind
        code = exit_.code if isinstance(exit_.code, int) else 1
    except KeyboardInterrupt:
        code = 0
    exit_process(code)
