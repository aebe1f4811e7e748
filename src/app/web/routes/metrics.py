"""``GET /metrics``: Prometheus text, with the chain counts read from Temporal every few seconds."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.web.deps import ChainCountsDep, ChainsDep, MetricsDep

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics_text(chains: ChainsDep, counts: ChainCountsDep, metrics: MetricsDep) -> Response:
    """Every metric in Prometheus' text format (chain counts at most ``COUNTS_TTL`` old)."""
    await counts.refresh(chains)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
