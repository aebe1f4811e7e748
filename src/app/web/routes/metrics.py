"""``GET /metrics``: Prometheus text, with the chain counts read from Temporal at each scrape."""

import asyncio

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.core.errors import TemporalUnavailableError
from app.web.deps import ChainsDep, MetricsDep
from temporal.inputs import ChainStatus

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics_text(chains: ChainsDep, metrics: MetricsDep) -> Response:
    """Every metric in Prometheus' text format (a count Temporal cannot give stays as it was)."""
    counts = await asyncio.gather(
        *(chains.count(status) for status in ChainStatus), return_exceptions=True
    )
    for status, count in zip(ChainStatus, counts, strict=True):
        if isinstance(count, TemporalUnavailableError):
            continue
        if isinstance(count, BaseException):
            raise count
        metrics.chains.labels(status=status.value).set(count)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
