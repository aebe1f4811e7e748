"""The web server: ``create_app`` composes settings, Temporal, the dependency file and routes.

``stackchain api`` runs it alone; ``stackchain serve`` composes it with a worker, the embedded
Temporal and the sandbox. Temporal is either a client handed in (``serve``, tests) or connected on
first use (``api``), so the server starts and answers ``/healthz`` while Temporal is still down;
``/readyz`` says when it is not.
"""

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from app.core.errors import TemporalUnavailableError
from app.core.graph_source import GraphSource
from app.core.logs import get_logger, new_request_context
from app.core.settings import Settings
from app.core.temporal_connect import connect_temporal
from app.core.webhook_secret import resolve_webhook_secret
from app.web.auth import ApiAuth
from app.web.body_guard import BODY_TIME_LIMIT, BodyGuard
from app.web.chain_counts import ChainCounts
from app.web.chain_service import ChainService
from app.web.deps import AppParts
from app.web.error_handlers import install_error_handlers
from app.web.loopback import LoopbackGuard
from app.web.metrics import Metrics
from app.web.routes import api_v1, health, metrics, webhooks
from app.web.temporal_gateway import DEFAULT_RPC_TIMEOUT, TemporalConnector, TemporalGateway
from app.web.webhooks.handler import LaneSignaler, WebhookHandler
from temporal.client import deliver_run_event
from temporal.inputs import RunEvent

log = get_logger("app.access")

DESCRIPTION = """\
Runs Spacelift stacks in dependency order. Spacelift posts run events to `/webhooks/spacelift`;
operators read and steer chains under `/api/v1` (bearer token when `STACKCHAIN_API_TOKEN` is set).
Errors are `{"detail": ...}`.
"""


def lane_signaler(gateway: TemporalGateway, settings: Settings) -> LaneSignaler:
    """Hands an event to its stack's lane by signal-with-start, within the gateway's bound."""

    async def signal(event: RunEvent) -> None:
        client = await gateway.client()
        call = deliver_run_event(
            client,
            event,
            task_queue=settings.task_queue,
            poll_interval=settings.poll_interval,
            event_max_age=settings.event_max_age,
        )
        await gateway.bounded(call, f"the event of run {event.run_id}")

    return signal


class RequestLog:
    """ASGI middleware: a fresh log context per request and one access line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Log the request's method, path, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        new_request_context(request_id=uuid.uuid4().hex[:12])
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = round(time.perf_counter() - started, 4)
            path = scope["path"]
            if path not in {"/healthz", "/readyz", "/metrics"} or status >= 500:  # noqa: PLR2004
                log.info(
                    "request", method=scope["method"], path=path, status=status, seconds=seconds
                )


def create_app(
    settings: Settings,
    *,
    temporal: Client | TemporalConnector | None = None,
    spacelift_url: str | None = None,
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT,
    body_time_limit: float = BODY_TIME_LIMIT,
) -> FastAPI:
    """The web server. ``temporal`` defaults to connecting from ``settings`` on first use.

    ``body_time_limit``: seconds a request's body has to arrive in full (tests shorten it).
    Raises ``SettingsError`` when the webhook secret is required and missing.
    """
    gateway = TemporalGateway(
        temporal if temporal is not None else (lambda: connect_temporal(settings)),
        timeout=rpc_timeout,
    )
    graphs = GraphSource(settings.config_path)
    metrics_ = Metrics()
    token = settings.api_token.get_secret_value().encode() if settings.api_token else None
    parts = AppParts(
        gateway=gateway,
        graphs=graphs,
        metrics=metrics_,
        webhooks=WebhookHandler(
            secret=resolve_webhook_secret(settings),
            graphs=graphs,
            signal=lane_signaler(gateway, settings),
            metrics=metrics_,
            max_age=settings.event_max_age,
        ),
        chains=ChainService(
            gateway,
            task_queue=settings.task_queue,
            graphs=graphs,
            metrics=metrics_,
            spacelift_url=settings.spacelift_endpoint or ""
            if spacelift_url is None
            else spacelift_url,
        ),
        chain_counts=ChainCounts(metrics_.chains),
        api_token=token,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not gateway.connected:
            try:
                await gateway.client()  # registers the search attributes early
            except TemporalUnavailableError as error:
                log.warning("Temporal not reachable yet; will retry on demand", detail=str(error))
        graphs.problem()  # loads the file now: GraphSource logs it if it is invalid
        yield

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a CDN. /openapi.json stays.
    app = FastAPI(
        title="stackchain",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.parts = parts
    install_error_handlers(app)
    for module in (webhooks, api_v1, health, metrics):
        app.include_router(module.router)
    # The last added runs first: log, then Host and Origin, then the token, then the body caps.
    app.add_middleware(
        BodyGuard,
        caps={("POST", webhooks.PATH): webhooks.BODY_CAP},
        time_limit=body_time_limit,
        on_refusal=webhooks.count_refusals(metrics_),
    )
    app.add_middleware(ApiAuth, token=token)
    if token is None:
        app.add_middleware(LoopbackGuard, public_url=settings.public_url)
    app.add_middleware(RequestLog)
    return app
