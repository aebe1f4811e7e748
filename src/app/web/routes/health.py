"""``/healthz`` (the process lives) and ``/readyz`` (Temporal answers and the file is valid)."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.errors import TemporalUnavailableError
from app.web.deps import GatewayDep, GraphsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        503: {
            "description": "Not ready: the reasons.",
            "content": {
                "application/json": {
                    "example": {"detail": "temporal: cannot reach Temporal at 127.0.0.1:7233"}
                }
            },
        }
    },
)
async def readyz(gateway: GatewayDep, graphs: GraphsDep) -> Any:  # noqa: ANN401 - 200 or 503
    """200 when Temporal answers and the dependency file is valid, else 503 with the reasons."""
    reasons = []
    try:
        client = await gateway.client()
        await gateway.bounded(client.service_client.check_health(), "the health check")
    except TemporalUnavailableError as error:
        reasons.append(f"temporal: {error}")
    problem = graphs.problem()
    if problem is not None:
        reasons.append(f"dependency file: {problem}")
    if reasons:
        return JSONResponse({"detail": "; ".join(reasons)}, status_code=503)
    return {"status": "ready"}
