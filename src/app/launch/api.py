"""The web server alone as a process (``stackchain api``): the FastAPI app under uvicorn."""

import asyncio
import signal
from typing import NoReturn

import uvicorn
from fastapi import FastAPI

from app.core.settings import Settings
from app.launch.runtime import exit_process
from app.web.server import create_app


def build_api(settings: Settings) -> FastAPI:
    """The web server for ``settings``, built before anything runs.

    Raises ``SettingsError`` when the settings cannot serve (the webhook secret is missing).
    """
    return create_app(settings)


def uvicorn_server(app: FastAPI, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app`` that logs through structlog (no access log of its own)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    return uvicorn.Server(config)


def run_api_process(app: FastAPI, *, host: str, port: int) -> NoReturn:
    """Serve ``app`` until SIGINT or SIGTERM, then leave (0 after a clean stop)."""
    # uvicorn re-raises the signal it shut down on: a clean stop by SIGTERM then exits 0 here.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        asyncio.run(uvicorn_server(app, host=host, port=port).serve())
        code = 0
    except SystemExit as exit_:  # uvicorn exits when it cannot bind
        code = exit_.code if isinstance(exit_.code, int) else 1
    except KeyboardInterrupt:
        code = 0
    exit_process(code)
