"""The web server's FastAPI dependencies: its parts, reached from the request (tests override).

They are ``async def`` although none awaits: FastAPI runs a plain ``def`` dependency in a worker
thread, and those thread hops held webhook intake to 65% of the raw signal rate, against 82%
without them (``python -m bench intake``).
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from app.core.graph_source import GraphSource
from app.web.auth import authorize, bearer, client_host
from app.web.chain_counts import ChainCounts
from app.web.chain_service import ChainService
from app.web.metrics import Metrics
from app.web.temporal_gateway import TemporalGateway
from app.web.webhooks.handler import WebhookHandler


@dataclass(frozen=True)
class AppParts:
    """Everything a request may need, built once by ``create_app``."""

    gateway: TemporalGateway
    graphs: GraphSource
    metrics: Metrics
    webhooks: WebhookHandler
    chains: ChainService
    chain_counts: ChainCounts
    api_token: bytes | None


async def get_parts(request: Request) -> AppParts:
    """The app's parts."""
    parts: AppParts = request.app.state.parts
    return parts


PartsDep = Annotated[AppParts, Depends(get_parts)]


async def get_webhooks(parts: PartsDep) -> WebhookHandler:
    """The webhook handler."""
    return parts.webhooks


async def get_chains(parts: PartsDep) -> ChainService:
    """The chain operations."""
    return parts.chains


async def get_graphs(parts: PartsDep) -> GraphSource:
    """The dependency file."""
    return parts.graphs


async def get_metrics(parts: PartsDep) -> Metrics:
    """The metrics."""
    return parts.metrics


async def get_chain_counts(parts: PartsDep) -> ChainCounts:
    """The cached chain counts of ``/metrics``."""
    return parts.chain_counts


async def get_gateway(parts: PartsDep) -> TemporalGateway:
    """The way to Temporal."""
    return parts.gateway


async def require_token(
    request: Request,
    parts: PartsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> None:
    """``/api/v1`` auth, again after ``ApiAuth``: ``credentials`` declares the scheme in OpenAPI."""
    del credentials  # the same header, read below as ApiAuth reads it
    authorize(request.headers.get("authorization"), client_host(request.scope), parts.api_token)


WebhooksDep = Annotated[WebhookHandler, Depends(get_webhooks)]
ChainsDep = Annotated[ChainService, Depends(get_chains)]
GraphsDep = Annotated[GraphSource, Depends(get_graphs)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ChainCountsDep = Annotated[ChainCounts, Depends(get_chain_counts)]
GatewayDep = Annotated[TemporalGateway, Depends(get_gateway)]
