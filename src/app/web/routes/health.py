"""``/healthz`` (the process lives) and ``/readyz`` (Temporal answers and the file is valid).

``/readyz`` is public: it says "Temporal unreachable" without naming Temporal's address or the
error (those go to the log).
"""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.errors import TemporalUnavailableError
from app.core.logs import get_logger
from app.web.deps import GatewayDep, GraphsDep

TEMPORAL_UNREACHABLE = "Temporal unreachable"

log = get_logger(__name__)
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
            "content": {"application/json": {"example": {"detail": TEMPORAL_UNREACHABLE}}},
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
        log.warning("not ready: Temporal unreachable", detail=str(error))
        reasons.append(TEMPORAL_UNREACHABLE)
    problem = graphs.problem()
    if problem is not None:
        reasons.append(f"dependency file: {problem}")
    if reasons:
        return JSONResponse({"detail": "; ".join(reasons)}, status_code=503)
    return {"status": "ready"}
